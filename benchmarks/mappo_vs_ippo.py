"""MAPPO vs IPPO at equal env steps over several seeds, with the same shared actor, the same
critic size and the same PPO settings: MAPPO's critic reads the global state joined with the
agent's own observation (`model.module: centralized_critic`), IPPO's value trunk only the
agent's own observation (`model.module: mlp`, separate value trunk). Both critics are
[128, 128], so the comparison is centralisation alone.

- Cooperative grid world (3 agents, 3 targets, 7x7; tune_configs/grid_world_mappo.yaml):
  success rate of each final policy, greedy, on 500 fresh episodes.
- `pz/simple_spread` (mpe2, N=3; tune_configs/simple_spread_ppo.yaml): mean episode return
  (sum over agents) on 200 fresh episodes; the global state is every agent's observation.

`--algorithm MARL_PPO` runs both sides with our distributed PPO (2 workers x 32 env copies,
batch 3200 env steps) instead of RLlib's; `--seeds 0 1 2 3 4` for five seeds.

Each training seed s is evaluated on the episodes of seed 1000 + s, the same for both sides.
Prints one JSON line last: per env {"mappo", "ippo"}, each {"mean", "ci" (95 % percentile
bootstrap over seeds), "n", "values"}, with "env_steps" and wall times; the target is
mappo >= ippo.
"""

from __future__ import annotations

import argparse
import json

from scripted_comparison import train

from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.stats import mean_interval

ACTOR = "hidden_sizes: [64, 64]"
CRITIC = "[128, 128]"
SIDES = {
    "mappo": [
        "model.module=centralized_critic",
        f"model.options={{{ACTOR}, critic_hidden_sizes: {CRITIC}}}",
    ],
    "ippo": [
        "model.module=mlp",
        f"model.options={{{ACTOR}, shared_trunk: false, value_hidden_sizes: {CRITIC}}}",
    ],
}
ENVS = {  # name -> (experiment file, figure read from the evaluation)
    "grid_world": ("grid_world_mappo.yaml", "success_rate"),
    "simple_spread": ("simple_spread_ppo.yaml", "episode_return_mean"),
}
# Our distributed PPO runs the same files with its own sampling: 2 workers x 32 copies
# (a batch a multiple of 64 copies), the same actor, critics, lr, epochs and entropy.
OURS = [
    "algorithm=MARL_PPO",
    "resources.num_env_runners=2",
    "resources.num_envs_per_env_runner=32",
    "resources.num_cpus_per_env_runner=0.5",
    "training.train_batch_size=3200",
    "training.minibatch_size=2400",
    "training.extra={updates_per_iteration: 2}",
]
ALGORITHMS = {"PPO": [], "MARL_PPO": OURS}


def compare(env: str, env_steps: int, episodes: int, seeds: list[int], algorithm: str) -> dict:
    """Trains both sides on every seed; each side's figure summarised over the seeds."""
    config_file, figure = ENVS[env]
    values: dict[str, list[float]] = {side: [] for side in SIDES}
    report: dict = {"figure": figure, "env_steps": [], "wall_s": {side: [] for side in SIDES}}
    for seed in seeds:
        budget = [f"stop.timesteps_total={env_steps}", "stop.time_total_s=null", f"seed={seed}"]
        for side, extra in SIDES.items():
            overrides = [*ALGORITHMS[algorithm], *budget, *extra]
            _, checkpoint, wall_s, steps = train(config_file, overrides)
            result = evaluate_checkpoint(checkpoint, episodes=episodes, seed=1000 + seed)
            values[side].append(round(float(getattr(result, figure)), 4))
            report["wall_s"][side].append(round(wall_s, 1))
            report["env_steps"].append(steps)
            print(f"{env} seed {seed} {side}: {figure} {values[side][-1]}", flush=True)
    for side in SIDES:
        report[side] = mean_interval(values[side])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=300_000)
    parser.add_argument("--simple-spread-steps", type=int, default=300_000)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--simple-spread-episodes", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--envs", nargs="+", choices=list(ENVS), default=list(ENVS))
    parser.add_argument("--algorithm", choices=list(ALGORITHMS), default="PPO")
    args = parser.parse_args()
    if len(args.seeds) < 3:
        parser.error("--seeds: a comparison of learning needs at least 3 seeds per side")
    report: dict = {"algorithm": args.algorithm, "seeds": args.seeds}
    if "grid_world" in args.envs:
        report["grid_world"] = compare(
            "grid_world", args.env_steps, args.episodes, args.seeds, args.algorithm
        )
    if "simple_spread" in args.envs:
        report["simple_spread"] = compare(
            "simple_spread",
            args.simple_spread_steps,
            args.simple_spread_episodes,
            args.seeds,
            args.algorithm,
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
