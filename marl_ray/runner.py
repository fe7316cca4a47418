"""Runs an experiment through Ray Tune, locally (embedded Ray) or on a cluster."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ray
import yaml
from ray import tune

from marl_ray.config import METRIC_KEYS, ExperimentConfig, metric_key
from marl_ray.param_space import make_param_space
from marl_ray.results import finite_or_none, plot_learning_curves, write_json_atomic
from marl_ray.rllib.algorithm_config import build_algorithm_config, resolve_learner_gpus
from marl_ray.rllib.registration import register_envs
from marl_ray.trainables import RLLIB_ALGORITHMS, trainable_class

logger = logging.getLogger(__name__)

PROGRESS_COLUMNS = {
    METRIC_KEYS["timesteps"]: "env steps",
    METRIC_KEYS["episode_return_mean"]: "return",
    METRIC_KEYS["success_rate"]: "success",
    "time_total_s": "time (s)",
}


@dataclass(frozen=True)
class RunSummary:
    """The outcome of a run, as printed by `--json` and written to `summary.json`."""

    algorithm: str
    env: str
    name: str
    run_dir: str
    trials: int
    best_trial: str | None
    timesteps: int | None
    training_iterations: int | None
    episode_return_mean: float | None
    success_rate: float | None
    checkpoint: str | None
    learning_curve: str | None
    wall_s: float
    best_config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def connect(address: str | None, num_cpus: int | None = None) -> None:
    """Joins the cluster at `address`, or starts embedded local Ray (reused if running)."""
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=True)


def run_experiment(
    exp: ExperimentConfig,
    *,
    search: bool = False,
    address: str | None = None,
    verbose: int = 1,
) -> RunSummary:
    """Trains `exp` (one trial), or its `tune.search_space` when `search` is true."""
    started = time.time()
    # The classic reporter honours our column names; the newer engine ignores them.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    connect(address)
    register_envs()
    cluster_gpus = ray.cluster_resources().get("GPU", 0.0)
    learner_gpus = resolve_learner_gpus(exp.resources.num_gpus, cluster_gpus)
    check_algorithm_config(exp, learner_gpus)  # before anything is written
    param_space = make_param_space(exp, learner_gpus, search)
    run_name = f"{exp.name}-{datetime.now():%Y%m%d-%H%M%S}"
    storage = _storage_path(exp.storage_path)
    num_samples = exp.tune.num_samples if search else 1
    tuner = tune.Tuner(
        trainable_class(exp.algorithm),
        param_space=param_space,
        tune_config=tune.TuneConfig(
            num_samples=num_samples,
            max_concurrent_trials=exp.tune.max_concurrent_trials,
        ),
        run_config=tune.RunConfig(
            name=run_name,
            storage_path=storage,
            stop=exp.stop.criteria(),
            verbose=verbose,
            progress_reporter=tune.CLIReporter(
                metric_columns=PROGRESS_COLUMNS, max_report_frequency=10
            ),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=exp.checkpoint.frequency,
                checkpoint_at_end=exp.checkpoint.at_end,
                num_to_keep=exp.checkpoint.num_to_keep,
            ),
        ),
    )
    grid = tuner.fit()
    run_dir = Path(grid.experiment_path)
    _write_experiment(run_dir, exp)
    summary = summarise(grid, exp, run_dir, time.time() - started)
    write_json_atomic(run_dir / "summary.json", summary.to_dict())
    return summary


def check_algorithm_config(exp: ExperimentConfig, learner_gpus: int) -> None:
    """Builds the algorithm's own config once on the driver, so its errors come first."""
    if exp.algorithm in RLLIB_ALGORITHMS:
        build_algorithm_config(exp, learner_gpus)
    else:
        trainable_class(exp.algorithm).build_config(exp, learner_gpus)


def _storage_path(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def _write_experiment(run_dir: Path, exp: ExperimentConfig) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "experiment.yaml").write_text(yaml.safe_dump(exp.to_dict(), sort_keys=False))


def summarise(grid, exp: ExperimentConfig, run_dir: Path, wall_s: float) -> RunSummary:
    """Picks the best trial by the experiment's metric, plots every trial's curve."""
    errors = [r.error for r in grid if r.error is not None]
    if errors and len(errors) == len(grid):
        raise RuntimeError(f"every trial failed; first error: {errors[0]}")
    key = metric_key(exp.tune.metric)
    ok = [r for r in grid if r.error is None]
    scored = [r for r in ok if finite_or_none(_get(r.metrics, key)) is not None]
    pool = scored or ok
    sign = 1 if exp.tune.mode == "max" else -1
    best = max(pool, key=lambda r: sign * (finite_or_none(_get(r.metrics, key)) or 0.0))
    curves = {Path(r.path).name: r.metrics_dataframe for r in ok if r.metrics_dataframe is not None}
    best_name = Path(best.path).name
    curve = None
    if curves:
        curve = plot_learning_curves(
            curves, run_dir / "learning_curve.png", f"{exp.algorithm} on {exp.env.name}", best_name
        )
    m = best.metrics
    return RunSummary(
        algorithm=exp.algorithm,
        env=exp.env.name,
        name=exp.name,
        run_dir=str(run_dir),
        trials=len(grid),
        best_trial=best_name,
        timesteps=_int_or_none(_get(m, METRIC_KEYS["timesteps"])),
        training_iterations=_int_or_none(m.get("training_iteration")),
        episode_return_mean=finite_or_none(_get(m, METRIC_KEYS["episode_return_mean"])),
        success_rate=finite_or_none(_get(m, METRIC_KEYS["success_rate"])),
        checkpoint=best.checkpoint.path if best.checkpoint else None,
        learning_curve=str(curve) if curve else None,
        wall_s=round(wall_s, 1),
        best_config=_trial_search_values(Path(best.path)),
    )


def _trial_search_values(trial_dir: Path) -> dict[str, Any]:
    """The search values Tune sampled for a trial (its results report RLlib's config)."""
    params = trial_dir / "params.json"
    return dict(json.loads(params.read_text()).get("search") or {}) if params.is_file() else {}


def _get(metrics: dict[str, Any], key: str) -> Any:
    """Reads a '/'-separated key from Tune's nested result dict."""
    node: Any = metrics
    if key in metrics:
        return metrics[key]
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _int_or_none(value: Any) -> int | None:
    v = finite_or_none(value)
    return None if v is None else int(v)
