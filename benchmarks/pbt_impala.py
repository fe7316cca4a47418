"""PBT vs no PBT for marl_ray's IMPALA (tune_configs/impala_pbt.yaml), equal env steps.

For each seed, runs the same 2-trial population twice: once with the PBT scheduler (exploit
every 3 iterations, explore learning rate and entropy), once with the scheduler off, each
trial stopping at the same env-step budget. Both arms sample their initial population from
the same search space (learning rate and entropy coefficient, PBT's mutation keys) with the
same seed, so they start from identical trials; the benchmark checks that it is so.

Prints one JSON line last: {"seeds", "pbt_best", "no_pbt_best" (best final success rate of
each run's trials, one per seed), "pbt_mean", "no_pbt_mean", "initial" (the sampled
(lr, entropy) pairs per seed), "env_steps"}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import ray

from marl_ray.config import load_experiment
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]
INITIAL_SPACE = (
    "tune.search_space={training.lr: {loguniform: [0.0001, 0.01]}, "
    "training.entropy_coeff: {uniform: [0.0, 0.03]}}"
)


def run(scheduler: str, env_steps: int, seed: int) -> tuple[float | None, list]:
    """Best final success rate of the population, and its trials' initial samples."""
    storage = tempfile.mkdtemp(prefix="pbt_impala_")
    exp = load_experiment(
        ROOT / "tune_configs" / "impala_pbt.yaml",
        [
            f"tune.scheduler={scheduler}",
            INITIAL_SPACE,
            f"stop.timesteps_total={env_steps}",
            f"seed={seed}",
            f"storage_path={storage}",
        ],
    )
    summary = run_experiment(exp, search=True, verbose=0)
    # The learner's hyperparameters in each trial's first result (PBT rewrites params.json
    # when it exploits, so the initial values are read from before the first perturbation).
    initial = []
    for progress in sorted(Path(summary.run_dir).glob("*/progress.csv")):
        first = pd.read_csv(progress).iloc[0]
        initial.append([float(first["learners/lr"]), float(first["learners/entropy_coef"])])
    return summary.success_rate, sorted(initial)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    if len(args.seeds) < 2:
        parser.error("--seeds: at least 2 seeds")
    connect(None, num_cpus=2)
    report: dict = {"seeds": args.seeds, "pbt_best": [], "no_pbt_best": [], "initial": []}
    for seed in args.seeds:
        pbt, pbt_initial = run("pbt", args.env_steps, seed)
        plain, plain_initial = run("none", args.env_steps, seed)
        if not np.allclose(pbt_initial, plain_initial):
            raise RuntimeError(
                f"seed {seed}: the arms started differently: {pbt_initial} vs {plain_initial}"
            )
        report["pbt_best"].append(pbt)
        report["no_pbt_best"].append(plain)
        report["initial"].append(pbt_initial)
        print(f"seed {seed}: pbt {pbt}, no pbt {plain}", flush=True)
    for arm in ("pbt", "no_pbt"):
        values = [v for v in report[f"{arm}_best"] if v is not None]
        report[f"{arm}_mean"] = round(float(np.mean(values)), 3) if values else None
    report["env_steps"] = args.env_steps
    ray.shutdown()  # flushes the workers' log lines, so the JSON line is the last one
    print(json.dumps(report))


if __name__ == "__main__":
    main()
