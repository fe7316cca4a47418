"""Shared by the throughput benchmarks that pit one of our algorithms against RLlib's on the
same experiment file: train each side for the same wall time with the same sampling (ONE
sampling process stepping 64 env copies), then compare env steps per second, and success at
equal wall time and at equal env steps.

Success is measured twice. From training: the 100-episode means Tune recorded (the episodes
each side happened to sample, with exploration). From evaluation: each side's policy plays
the same `EVAL_EPISODES` seeded episodes (evaluation seed `EVAL_SEED`, disjoint from the
training seeds), with sampled actions (the policy as trained) and greedy ones. At equal env
steps our policy is that of a second run of the same experiment and seed stopped at RLlib's
env-step total (the timed run passes that total between two checkpoints)."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from marl_ray.config import METRIC_KEYS, load_experiment
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.runner import run_experiment
from marl_ray.stats import mean_interval, probability_of_improvement

ROOT = Path(__file__).resolve().parents[1]
SAMPLING = {"processes": 1, "env_copies_per_process": 64}
SAME_SAMPLING = [
    f"resources.num_env_runners={SAMPLING['processes']}",
    f"resources.num_envs_per_env_runner={SAMPLING['env_copies_per_process']}",
    "resources.num_cpus_per_env_runner=1",
]
STEPS, SUCCESS = METRIC_KEYS["timesteps"], METRIC_KEYS["success_rate"]
EVAL_EPISODES, EVAL_SEED = 500, 1000


@dataclass(frozen=True)
class Run:
    rows: pd.DataFrame
    """Tune's per-iteration rows."""
    checkpoint: str
    """The policy at the run's end."""


def train(
    config_file: str,
    overrides: list[str],
    seconds: float | None = None,
    env_steps: int | None = None,
) -> Run:
    """Trains `config_file` with the shared sampling for `seconds` of training time, or until
    it has sampled `env_steps`."""
    if (seconds is None) == (env_steps is None):
        raise ValueError("train needs exactly one of seconds and env_steps")
    storage = tempfile.mkdtemp(prefix=Path(config_file).stem + "_throughput_")
    exp = load_experiment(
        ROOT / "tune_configs" / config_file,
        [
            *overrides,
            *SAME_SAMPLING,
            f"stop.time_total_s={'null' if seconds is None else seconds}",
            f"stop.timesteps_total={'null' if env_steps is None else env_steps}",
            "stop.metric={}",
            "checkpoint.at_end=true",
            f"storage_path={storage}",
        ],
    )
    summary = run_experiment(exp, verbose=0)
    rows = pd.read_csv(next(Path(summary.run_dir).glob("*/progress.csv")))
    return Run(rows, summary.checkpoint)


def rate(rows: pd.DataFrame) -> float:
    """Env steps per second of training time."""
    return float(rows[STEPS].iloc[-1]) / float(rows["time_total_s"].iloc[-1])


def success(rows: pd.DataFrame, index: int) -> float | None:
    value = rows[SUCCESS].iloc[index] if SUCCESS in rows else float("nan")
    return None if pd.isna(value) else round(float(value), 3)


@functools.cache  # RLlib's run is compared with each of our modes
def evaluated_success(checkpoint: str) -> dict[str, float]:
    """Success rate of a checkpoint's policies on the shared evaluation episodes, with sampled
    and with greedy actions."""
    return {
        name: round(
            evaluate_checkpoint(
                checkpoint, EVAL_EPISODES, seed=EVAL_SEED, explore=explore, num_envs=64
            ).success_rate,
            4,
        )
        for name, explore in (("sampled", True), ("greedy", False))
    }


def compare(ours: Run, rllib: Run, seconds: float, ours_at_rllib_steps: Run) -> dict:
    """Env steps/s of each side, their ratio, success at equal wall time (each side's last
    row and final policy) and at equal env steps (ours at the first row of the timed run with
    at least RLlib's total, and the policy of `ours_at_rllib_steps`)."""
    rates = {"ours": rate(ours.rows), "rllib": rate(rllib.rows)}
    rllib_steps = int(rllib.rows[STEPS].iloc[-1])
    reached = ours.rows.index[ours.rows[STEPS] >= rllib_steps]
    at = int(reached[0]) if len(reached) else len(ours.rows) - 1
    rllib_evaluated = evaluated_success(rllib.checkpoint)
    return {
        "ours_env_steps_per_s": round(rates["ours"]),
        "rllib_env_steps_per_s": round(rates["rllib"]),
        "ratio": round(rates["ours"] / rates["rllib"], 1),
        "equal_wall_time": {
            "seconds": seconds,
            "ours_env_steps": int(ours.rows[STEPS].iloc[-1]),
            "rllib_env_steps": rllib_steps,
            "ours_success_rate": success(ours.rows, -1),
            "rllib_success_rate": success(rllib.rows, -1),
            "ours_evaluated": evaluated_success(ours.checkpoint),
            "rllib_evaluated": rllib_evaluated,
        },
        "equal_env_steps": {
            "env_steps": rllib_steps,
            "ours_env_steps": int(ours.rows[STEPS].iloc[at]),
            "ours_seconds": round(float(ours.rows["time_total_s"].iloc[at]), 1),
            "rllib_seconds": round(float(rllib.rows["time_total_s"].iloc[-1]), 1),
            "ours_success_rate": success(ours.rows, at),
            "rllib_success_rate": success(rllib.rows, -1),
            "ours_evaluated_env_steps": int(ours_at_rllib_steps.rows[STEPS].iloc[-1]),
            "ours_evaluated": evaluated_success(ours_at_rllib_steps.checkpoint),
            "rllib_evaluated": rllib_evaluated,
        },
        "evaluation": {"episodes": EVAL_EPISODES, "seed": EVAL_SEED},
        "sampling": SAMPLING,
    }


def success_over_seeds(runs: list[dict]) -> dict:
    """Each success figure at equal env steps (`compare`'s) over the seeds of `runs`: each
    side's mean with its 95 % bootstrap interval, and P(ours > RLlib)."""

    def sides(figure) -> dict:
        ours = [figure(r["equal_env_steps"], "ours") for r in runs]
        rllib = [figure(r["equal_env_steps"], "rllib") for r in runs]
        return {
            "ours": mean_interval(ours),
            "rllib": mean_interval(rllib),
            "p_ours_over_rllib": probability_of_improvement([ours], [rllib]),
        }

    return {
        "training": sides(lambda at, side: at[f"{side}_success_rate"]),
        **{
            actions: sides(lambda at, side, a=actions: at[f"{side}_evaluated"][a])
            for actions in ("sampled", "greedy")
        },
    }
