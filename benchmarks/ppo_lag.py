"""Policy lag in MARL_PPO: what one batch of lookahead costs in learning, per env step.

On the grid world of tune_configs/grid_world_marl_ppo.yaml with the throughput benchmark's
sampling (one worker, 64 copies, batch 4096 env steps, minibatch 2048, 4 epochs), three
sides train to the same env steps (`--env-steps`, early in learning, where a difference can
show) on each of `--seeds`:
- `sync`: collect, then learn (no lag);
- `decoupled`: lookahead (policy lag 1), the clip around the learner's own policy before the
  update, the behaviour policy as importance weight (`proximal_policy: current`, the default);
- `plain`: lookahead with plain PPO's clip around the behaviour policy
  (`proximal_policy: behaviour`).
Every final policy plays the same 500 seeded evaluation episodes (`throughput_comparison`);
success with sampled actions (the policy as trained) and greedy ones.

Prints one JSON line per run, then one last: {"env_steps", "seeds", "sides": {side:
{"sampled", "greedy"}}, "p_decoupled_over_plain", "p_decoupled_over_sync"} (means with 95 %
bootstrap intervals; probabilities of improvement on sampled success).
"""

from __future__ import annotations

import argparse
import json

from throughput_comparison import STEPS, evaluated_success, train

from marl_ray.runner import connect
from marl_ray.stats import mean_interval, probability_of_improvement

CONFIG = "grid_world_marl_ppo.yaml"
SIDES = {
    "sync": "lookahead: false",
    "decoupled": "lookahead: true, proximal_policy: current",
    "plain": "lookahead: true, proximal_policy: behaviour",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=49152)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 4, 5, 6, 7])
    args = parser.parse_args()
    connect(None, num_cpus=2)
    runs: list[dict] = []
    for seed in args.seeds:
        for side, extra in SIDES.items():
            overrides = [f"training.extra={{updates_per_iteration: 1, {extra}}}", f"seed={seed}"]
            run = train(CONFIG, overrides, env_steps=args.env_steps)
            result = {"seed": seed, "side": side, "env_steps": int(run.rows[STEPS].iloc[-1])}
            runs.append({**result, **evaluated_success(run.checkpoint)})
            print(json.dumps(runs[-1]), flush=True)

    def values(side: str, actions: str = "sampled") -> list[float]:
        return [r[actions] for r in runs if r["side"] == side]

    print(
        json.dumps(
            {
                "env_steps": args.env_steps,
                "seeds": args.seeds,
                "sides": {
                    side: {a: mean_interval(values(side, a)) for a in ("sampled", "greedy")}
                    for side in SIDES
                },
                **{
                    f"p_decoupled_over_{other}": probability_of_improvement(
                        [values("decoupled")], [values(other)]
                    )
                    for other in ("plain", "sync")
                },
            }
        )
    )


if __name__ == "__main__":
    main()
