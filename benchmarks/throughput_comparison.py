"""Shared by the throughput benchmarks that pit one of our algorithms against RLlib's on the
same experiment file: train each side for the same wall time with the same sampling (ONE
sampling process stepping 64 env copies), then compare env steps per second, and success at
equal wall time and at equal env steps."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from marl_ray.config import METRIC_KEYS, load_experiment
from marl_ray.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]
SAMPLING = {"processes": 1, "env_copies_per_process": 64}
SAME_SAMPLING = [
    f"resources.num_env_runners={SAMPLING['processes']}",
    f"resources.num_envs_per_env_runner={SAMPLING['env_copies_per_process']}",
    "resources.num_cpus_per_env_runner=1",
]
STEPS, SUCCESS = METRIC_KEYS["timesteps"], METRIC_KEYS["success_rate"]


def train(config_file: str, overrides: list[str], seconds: float) -> pd.DataFrame:
    """Trains `config_file` with the shared sampling for `seconds`; Tune's per-iteration rows."""
    storage = tempfile.mkdtemp(prefix=Path(config_file).stem + "_throughput_")
    exp = load_experiment(
        ROOT / "tune_configs" / config_file,
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


def compare(ours: pd.DataFrame, rllib: pd.DataFrame, seconds: float) -> dict:
    """Env steps/s of each side, their ratio, success at equal wall time (each side's last
    row) and at equal env steps (ours at its first row with at least RLlib's total)."""
    rate = {
        name: float(rows[STEPS].iloc[-1]) / float(rows["time_total_s"].iloc[-1])
        for name, rows in (("ours", ours), ("rllib", rllib))
    }
    rllib_steps = int(rllib[STEPS].iloc[-1])
    reached = ours.index[ours[STEPS] >= rllib_steps]
    at = int(reached[0]) if len(reached) else len(ours) - 1
    return {
        "ours_env_steps_per_s": round(rate["ours"]),
        "rllib_env_steps_per_s": round(rate["rllib"]),
        "ratio": round(rate["ours"] / rate["rllib"], 1),
        "equal_wall_time": {
            "seconds": seconds,
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
