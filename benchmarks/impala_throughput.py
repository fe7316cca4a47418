"""Throughput: marl_ray's IMPALA vs RLlib's IMPALA on the same cooperative grid world.

In one run, on the same local Ray (2 CPUs), each trains for the same wall time (60 s by
default) from its experiment file: ours from tune_configs/impala_grid_world.yaml, RLlib's
with the same env, network, learning rate and env copies per runner (one env runner, the
learner in the trial process: the same 2 CPUs).
Env steps per second = env steps sampled / training time.
Prints one JSON line last: {"ours_env_steps_per_s", "rllib_env_steps_per_s", "ratio",
"ours_success_rate", "rllib_success_rate"} (success rates: 100-episode training means).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from marl_ray.config import load_experiment
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def measure(overrides: list[str], seconds: float) -> tuple[float, float | None]:
    storage = tempfile.mkdtemp(prefix="impala_throughput_")
    exp = load_experiment(
        ROOT / "tune_configs" / "impala_grid_world.yaml",
        [
            *overrides,
            f"stop.time_total_s={seconds}",
            "stop.timesteps_total=null",
            "stop.metric={}",
            f"storage_path={storage}",
        ],
    )
    summary = run_experiment(exp, verbose=0)
    progress = next(Path(summary.run_dir).glob("*/progress.csv"))
    import pandas as pd

    rows = pd.read_csv(progress)
    seconds_trained = float(rows["time_total_s"].iloc[-1])
    return summary.timesteps / seconds_trained, summary.success_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    connect(None, num_cpus=2)
    ours, ours_success = measure([], args.seconds)
    rllib, rllib_success = measure(
        [
            "algorithm=IMPALA",
            "training.extra={}",
            "training.grad_clip=40.0",
            "resources.num_env_runners=1",
            "resources.num_cpus_per_env_runner=1",
        ],
        args.seconds,
    )
    print(
        json.dumps(
            {
                "ours_env_steps_per_s": round(ours),
                "rllib_env_steps_per_s": round(rllib),
                "ratio": round(ours / rllib, 1),
                "ours_success_rate": ours_success,
                "rllib_success_rate": rllib_success,
            }
        )
    )


if __name__ == "__main__":
    main()
