"""PBT vs no PBT for marl_ray's IMPALA (tune_configs/impala_pbt.yaml) through
`marl-ray compare`, equal env steps, several seeds.

Each seed runs the same 2-trial population twice: once with the PBT scheduler (exploit every
3 iterations, explore learning rate and entropy), once with the scheduler off, each trial
stopping at the same env-step budget. Both arms sample their initial population from the same
search space (learning rate and entropy coefficient, PBT's mutation keys) with the same seed,
so they start from identical trials; the benchmark checks that it is so. A seed's result is
its population's best trial (final training success rate), whose final checkpoint plays the
same evaluation episodes in both arms.

Prints one JSON line last: per arm the IQM, mean and 95 % stratified bootstrap interval of
the greedy evaluation success rate over seeds, P(PBT > no PBT) with its interval, the
initial (lr, entropy) pairs per seed and the compare folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import ray

from marl_ray.compare.run import compare_files

ROOT = Path(__file__).resolve().parents[1]
INITIAL_SPACE = (
    "tune.search_space={training.lr: {loguniform: [0.0001, 0.01]}, "
    "training.entropy_coeff: {uniform: [0.0, 0.03]}}"
)
ARMS = "compare.variants={pbt: {tune.scheduler: pbt}, no_pbt: {tune.scheduler: none}}"


def initial_population(run: Path) -> list[list[float]]:
    """The learner's hyperparameters in each trial's first result (PBT rewrites params.json
    when it exploits, so they are read from before the first perturbation)."""
    out = []
    for progress in sorted(run.glob("*/progress.csv")):
        first = pd.read_csv(progress).iloc[0]
        out.append([float(first["learners/lr"]), float(first["learners/entropy_coef"])])
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=200)
    args = parser.parse_args()
    if args.seeds < 3:
        parser.error("--seeds: a comparison of learning needs at least 3 seeds per side")
    storage, comparison = compare_files(
        [str(ROOT / "tune_configs" / "impala_pbt.yaml")],
        [INITIAL_SPACE, ARMS, f"stop.timesteps_total={args.env_steps}"],
        seeds=args.seeds,
        eval_episodes=args.episodes,
    )
    folder = storage.local
    initial = {}
    for seed_dir in sorted((folder / "pbt").glob("seed_*")):
        pbt = initial_population(seed_dir)
        plain = initial_population(folder / "no_pbt" / seed_dir.name)
        if not np.allclose(pbt, plain):
            raise RuntimeError(f"{seed_dir.name}: the arms started differently: {pbt} vs {plain}")
        initial[seed_dir.name] = pbt
    table = comparison.figures[comparison.primary]
    report = {
        "figure": comparison.primary,
        **{arm: {k: table[arm][k] for k in ("iqm", "mean", "values")} for arm in table},
        "p_pbt_better": comparison.improvement.get("pbt > no_pbt"),
        "initial": initial,
        "env_steps": comparison.figures["env steps"],
        "compare_dir": storage.location,
    }
    ray.shutdown()  # flushes the workers' log lines, so the JSON line is the last one
    print(json.dumps(report))


if __name__ == "__main__":
    main()
