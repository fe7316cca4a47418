"""MAPPO vs IPPO through `marl-ray compare`: the same shared actor, the same critic size and
the same PPO settings; MAPPO's critic reads the global state joined with the agent's own
observation (`model.module: centralized_critic`), IPPO's only the agent's own observation
(`model.module: mlp`, separate value trunk). Both critics are [128, 128], so the comparison
is centralisation alone.

- Cooperative grid world (3 agents, 3 targets, 7x7; tune_configs/grid_world_mappo_vs_ippo.yaml):
  success rate of each final policy, greedy, on 200 evaluation episodes.
- `pz/simple_spread` (mpe2, N=3; tune_configs/simple_spread_mappo_vs_ippo.yaml): mean
  episode return (sum over agents) on 200 evaluation episodes.

Both files run our distributed PPO (2 workers x 32 env copies, batch 3200 env steps);
`--algorithm PPO` runs RLlib's PPO on them instead (1 runner x 8 copies, batch 3000).
Every run of both sides plays the same evaluation episodes (seed 1,000,000, never a
training seed). The report (tables, curves, profile, marl-eval JSON) is in each compare
folder. Prints one JSON line last: per env, the compared figure's IQM with its 95 %
stratified bootstrap interval, mean, per-seed values and P(MAPPO > IPPO) with its interval.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ray

from marl_ray.compare.run import compare_files

ROOT = Path(__file__).resolve().parents[1]
FILES = {
    "grid_world": ROOT / "tune_configs/grid_world_mappo_vs_ippo.yaml",
    "simple_spread": ROOT / "tune_configs/simple_spread_mappo_vs_ippo.yaml",
}
ALGORITHMS = {
    "MARL_PPO": [],
    "PPO": [
        "algorithm=PPO",
        "resources.num_env_runners=1",
        "resources.num_envs_per_env_runner=8",
        "resources.num_cpus_per_env_runner=1",
        "training.train_batch_size=3000",
        "training.minibatch_size=500",
        "training.extra={}",
    ],
}


def summary(comparison, storage) -> dict:
    table = comparison.figures[comparison.primary]
    out = {"compare_dir": storage.location, "figure": comparison.primary}
    for side, t in table.items():
        out[side] = {"iqm": t["iqm"], "mean": t["mean"], "values": t["values"]}
    out["p_mappo_better"] = comparison.improvement.get("mappo > ippo")
    for label in ("env steps", "wall time (s)"):
        out[label] = {side: t["values"] for side, t in comparison.figures[label].items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", nargs="+", choices=list(FILES), default=list(FILES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--env-steps", type=int, help="per run (default: the files' 300,000)")
    parser.add_argument("--episodes", type=int, help="evaluation episodes (default: 200)")
    parser.add_argument("--algorithm", choices=list(ALGORITHMS), default="MARL_PPO")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.seeds < 3:
        parser.error("--seeds: a comparison of learning needs at least 3 seeds per side")
    overrides = list(ALGORITHMS[args.algorithm])
    if args.env_steps:
        overrides.append(f"stop.timesteps_total={args.env_steps}")
    report: dict = {"algorithm": args.algorithm, "seeds": args.seeds}
    for env in args.envs:
        storage, comparison = compare_files(
            [str(FILES[env])],
            overrides + args.set,
            seeds=args.seeds,
            eval_episodes=args.episodes,
        )
        report[env] = summary(comparison, storage)
        print(f"{env}: {json.dumps(report[env])}", flush=True)
    ray.shutdown()  # flushes the workers' log lines, so the JSON line is the last one
    print(json.dumps(report))


if __name__ == "__main__":
    main()
