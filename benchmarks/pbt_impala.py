"""PBT vs no PBT for marl_ray's IMPALA (tune_configs/impala_pbt.yaml), equal env steps.

Runs the same 2-trial population twice in one go: once with the PBT scheduler (exploit every
3 iterations, explore learning rate and entropy), once with the scheduler off, each trial
stopping at the same env-step budget. Prints one JSON line last: {"pbt_best",
"no_pbt_best", "env_steps"} (best final success rate over the trials of each run).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from marl_ray.config import load_experiment
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def best_success(scheduler: str, env_steps: int) -> float | None:
    storage = tempfile.mkdtemp(prefix="pbt_impala_")
    exp = load_experiment(
        ROOT / "tune_configs" / "impala_pbt.yaml",
        [
            f"tune.scheduler={scheduler}",
            f"stop.timesteps_total={env_steps}",
            f"storage_path={storage}",
        ],
    )
    return run_experiment(exp, search=True, verbose=0).success_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=200_000)
    args = parser.parse_args()
    connect(None, num_cpus=2)
    pbt = best_success("pbt", args.env_steps)
    plain = best_success("none", args.env_steps)
    print(json.dumps({"pbt_best": pbt, "no_pbt_best": plain, "env_steps": args.env_steps}))


if __name__ == "__main__":
    main()
