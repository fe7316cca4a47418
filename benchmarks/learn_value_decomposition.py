"""QMIX and VDN against our MAPPO through `marl-ray compare`, at equal env steps, 3 seeds
each (by default), on two cooperative envs:

- the grid world (3 agents, 3 shared targets, 7x7; qmix_grid_world.yaml, vdn_grid_world.yaml,
  grid_world_mappo_vs_ippo.yaml's MAPPO): success rate of each final policy, greedy;
- `pz/simple_spread` (mpe2, N=3, discrete; qmix_simple_spread.yaml, vdn_simple_spread.yaml,
  simple_spread_mappo_vs_ippo.yaml's MAPPO): mean episode return (sum over agents).

Every side samples with 2 processes x 32 env copies on the same 2 CPUs, acts with a
[64, 64] network, runs the same env steps (300,000 by default) and plays the same 200
evaluation episodes (seed 1,000,000, never a training seed). QMIX and VDN act greedily on Q;
MAPPO takes its distribution's mode. The report of each env (tables with 95 % stratified
bootstrap intervals, curves against env steps and wall time, performance profile, every key
that differs between the sides) is in its compare folder.

Prints one JSON line last: per env and side the compared figure's IQM, mean (each with its
interval) and per-seed values, P(X > Y) for every pair, and the throughput (sampler env
steps/s and learner updates/s, per seed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ray

from marl_ray.compare.run import compare_files

ROOT = Path(__file__).resolve().parents[1] / "tune_configs"
FILES = {
    "grid_world": ["qmix_grid_world", "vdn_grid_world", "grid_world_mappo_vs_ippo"],
    "simple_spread": ["qmix_simple_spread", "vdn_simple_spread", "simple_spread_mappo_vs_ippo"],
}
SIDES = ("qmix", "vdn", "mappo")


def summary(comparison, storage) -> dict:
    out: dict = {"compare_dir": storage.location, "figure": comparison.primary}
    for side, t in comparison.figures[comparison.primary].items():
        out[side] = {"iqm": t["iqm"], "mean": t["mean"], "values": t["values"]}
    out["p_improvement"] = comparison.improvement
    for label in ("env steps", "wall time (s)", "env steps/s", "learner updates/s"):
        out[label] = {side: t["values"] for side, t in comparison.figures.get(label, {}).items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", nargs="+", choices=list(FILES), default=list(FILES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--env-steps", type=int, default=300_000)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.seeds < 3:
        parser.error("--seeds: a comparison of learning needs at least 3 seeds per side")
    overrides = [
        "compare.variants={}",  # MAPPO's file also holds its IPPO comparison: MAPPO alone
        f"stop.timesteps_total={args.env_steps}",
        "stop.time_total_s=null",
        *args.set,
    ]
    report: dict = {"seeds": args.seeds, "env_steps": args.env_steps}
    for env in args.envs:
        files = [f"{side}={ROOT / name}.yaml" for side, name in zip(SIDES, FILES[env], strict=True)]
        storage, comparison = compare_files(
            files, overrides, seeds=args.seeds, eval_episodes=args.episodes
        )
        report[env] = summary(comparison, storage)
        print(f"{env}: {json.dumps(report[env])}", flush=True)
    ray.shutdown()  # flushes the workers' log lines, so the JSON line is the last one
    print(json.dumps(report))


if __name__ == "__main__":
    main()
