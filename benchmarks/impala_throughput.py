"""Throughput: marl_ray's IMPALA vs RLlib's IMPALA on the same cooperative grid world.

In one run, on the same local Ray (2 CPUs), each trains for the same wall time (60 s by
default) from tune_configs/impala_grid_world.yaml with the same sampling: ONE sampling
process (our one rollout actor, RLlib's one env runner) stepping the same number of env
copies (64), the same network, learning rate and gradient clip; the learner sits in its
own process for ours (0.5 CPU) and in the trial process for RLlib's.
Env steps per second = env steps sampled / training time.

Learning is compared both ways: at equal wall time (each side's last row) and at equal env
steps (ours at the first row where it has sampled as many env steps as RLlib did in total,
with the time it took). Success rates are the 100-episode training means Tune recorded.

Prints one JSON line last: {"ours_env_steps_per_s", "rllib_env_steps_per_s", "ratio",
"equal_wall_time": {...}, "equal_env_steps": {...}, "sampling": {...}}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from marl_ray.config import METRIC_KEYS, load_experiment
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]
SAMPLING = {"processes": 1, "env_copies_per_process": 64}
SAME_SAMPLING = [
    f"resources.num_env_runners={SAMPLING['processes']}",
    f"resources.num_envs_per_env_runner={SAMPLING['env_copies_per_process']}",
    "resources.num_cpus_per_env_runner=1",
]
STEPS, SUCCESS = METRIC_KEYS["timesteps"], METRIC_KEYS["success_rate"]


def train(overrides: list[str], seconds: float) -> pd.DataFrame:
    """Trains for `seconds`; returns Tune's per-iteration rows."""
    storage = tempfile.mkdtemp(prefix="impala_throughput_")
    exp = load_experiment(
        ROOT / "tune_configs" / "impala_grid_world.yaml",
        [
            *overrides,
            *SAME_SAMPLING,
            f"stop.time_total_s={seconds}",
            "stop.timesteps_total=null",
            "stop.metric={}",
            f"storage_path={storage}",
        ],
    )
    summary = run_experiment(exp, verbose=0)
    return pd.read_csv(next(Path(summary.run_dir).glob("*/progress.csv")))


def success(rows: pd.DataFrame, index: int) -> float | None:
    value = rows[SUCCESS].iloc[index] if SUCCESS in rows else float("nan")
    return None if pd.isna(value) else round(float(value), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    connect(None, num_cpus=2)
    ours = train([], args.seconds)
    rllib = train(
        ["algorithm=IMPALA", "training.extra={}", "training.grad_clip=40.0"], args.seconds
    )
    rate = {
        name: float(rows[STEPS].iloc[-1]) / float(rows["time_total_s"].iloc[-1])
        for name, rows in (("ours", ours), ("rllib", rllib))
    }
    rllib_steps = int(rllib[STEPS].iloc[-1])
    reached = ours.index[ours[STEPS] >= rllib_steps]
    at = int(reached[0]) if len(reached) else len(ours) - 1
    print(
        json.dumps(
            {
                "ours_env_steps_per_s": round(rate["ours"]),
                "rllib_env_steps_per_s": round(rate["rllib"]),
                "ratio": round(rate["ours"] / rate["rllib"], 1),
                "equal_wall_time": {
                    "seconds": args.seconds,
                    "ours_env_steps": int(ours[STEPS].iloc[-1]),
                    "rllib_env_steps": rllib_steps,
                    "ours_success_rate": success(ours, -1),
                    "rllib_success_rate": success(rllib, -1),
                },
                "equal_env_steps": {
                    "env_steps": rllib_steps,
                    "ours_env_steps": int(ours[STEPS].iloc[at]),
                    "ours_seconds": round(float(ours["time_total_s"].iloc[at]), 1),
                    "rllib_seconds": round(float(rllib["time_total_s"].iloc[-1]), 1),
                    "ours_success_rate": success(ours, at),
                    "rllib_success_rate": success(rllib, -1),
                },
                "sampling": SAMPLING,
            }
        )
    )


if __name__ == "__main__":
    main()
