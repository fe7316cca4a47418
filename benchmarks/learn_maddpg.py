"""Learning check for MADDPG on two continuous-action envs, each judged on the same seeded
evaluation episodes as its references:

- `pz/simple_spread` (mpe2, N=3, `continuous_actions: true`; maddpg_simple_spread.yaml):
  mean episode return (sum over agents, higher is better) of MADDPG, of RLlib's PPO trained
  here at the same env steps on the same continuous env (simple_spread_ppo.yaml; skip it
  with `--no-ppo`), and of uniformly random actions.
- `smart_grid` (team reward; maddpg_smart_grid.yaml): social welfare per day ($) of
  MADDPG, of the merit-order baseline and of random actions; RLlib's PPO figure on the same
  market is 0.926 of the baseline at 400k env steps (`learn_smart_grid.py`, README).

Evaluation seeds (1000 + seed) never overlap the training seeds. Prints one JSON line last
with, per env, the figures, env steps, wall time, and MADDPG's sampler env steps/s and
learner updates/s (means over its iterations).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ray
from scripted_comparison import learned_measure, random_returns, scripted_measure, train

from marl_ray.compare.report import LEARNER_UPDATES
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.results import read_progress


def throughput(checkpoint: str) -> dict[str, float]:
    """Mean sampler env steps/s and learner updates/s over the trial's iterations."""
    progress = read_progress(Path(checkpoint).parent)
    columns = {"env_steps_per_s": "env_steps_per_s", "learner_updates_per_s": LEARNER_UPDATES}
    return {
        name: round(float(progress[column].mean()), 1)
        for name, column in columns.items()
        if progress is not None and column in progress
    }


def simple_spread(args) -> dict:
    continuous = "env.config.continuous_actions=true"
    steps = f"stop.timesteps_total={args.simple_spread_steps}"
    common = [continuous, steps, "stop.time_total_s=null", f"seed={args.seed}", *args.set]
    seed, n = 1000 + args.seed, args.episodes
    exp, checkpoint, wall_s, env_steps = train("maddpg_simple_spread.yaml", common)
    out = {
        "maddpg": round(
            evaluate_checkpoint(checkpoint, episodes=n, seed=seed).episode_return_mean, 2
        ),
        "random": round(sum(random_returns(exp, n, seed).values()), 2),
        "env_steps": env_steps,
        "wall_s": round(wall_s, 1),
        **throughput(checkpoint),
    }
    if args.ppo:
        _, ppo_checkpoint, ppo_wall_s, ppo_steps = train("simple_spread_ppo.yaml", common)
        ppo = evaluate_checkpoint(ppo_checkpoint, episodes=n, seed=seed)
        out |= {
            "rllib_ppo": round(ppo.episode_return_mean, 2),
            "rllib_ppo_env_steps": ppo_steps,
            "rllib_ppo_wall_s": round(ppo_wall_s, 1),
        }
    return out


def smart_grid(args) -> dict:
    overrides = [f"stop.timesteps_total={args.smart_grid_steps}", f"seed={args.seed}", *args.set]
    exp, checkpoint, wall_s, env_steps = train("maddpg_smart_grid.yaml", overrides)
    seed, n = 1000 + args.seed, args.episodes
    learned = learned_measure(checkpoint, "welfare", n, seed)
    baseline = scripted_measure(exp, lambda core, rng: core.baseline_actions(), "welfare", n, seed)
    randomly = scripted_measure(exp, lambda core, rng: core.sample_actions(rng), "welfare", n, seed)
    return {
        "maddpg": round(learned, 1),
        "baseline": round(baseline, 1),
        "random": round(randomly, 1),
        "maddpg_fraction_of_baseline": round(learned / baseline, 4),
        "rllib_ppo_fraction_of_baseline_at_400k": 0.926,
        "env_steps": env_steps,
        "wall_s": round(wall_s, 1),
        **throughput(checkpoint),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--envs",
        nargs="+",
        choices=("simple_spread", "smart_grid"),
        default=["simple_spread", "smart_grid"],
    )
    parser.add_argument("--simple-spread-steps", type=int, default=300_000)
    parser.add_argument("--smart-grid-steps", type=int, default=400_000)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-ppo",
        dest="ppo",
        action="store_false",
        help="skip training RLlib's PPO on simple_spread",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    report: dict = {"seed": args.seed}
    runs = {"simple_spread": simple_spread, "smart_grid": smart_grid}
    for env in args.envs:
        report[env] = runs[env](args)
        print(f"{env}: {json.dumps(report[env])}", flush=True)
    ray.shutdown()  # flushes the workers' log lines, so the JSON line is the last one
    print(json.dumps(report))


if __name__ == "__main__":
    main()
