"""Runs an experiment through Ray Tune, locally (embedded Ray) or on a cluster."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ray
import yaml
from ray import tune

import envs
from envs import board_games
from envs.schema import ConfigError
from marl_ray import quiet, tuning
from marl_ray.algorithms.core.policy_map import policy_groups
from marl_ray.auth import HOW_TO_GET_A_TOKEN, enable_token_auth_if_found, is_auth_failure
from marl_ray.config import (
    METRIC_KEYS,
    ExperimentConfig,
    build_experiment,
    metric_key,
    result_value,
)
from marl_ray.param_space import make_param_space
from marl_ray.report import publish_report
from marl_ray.results import finite_or_none, plot_learning_curves, write_json_atomic
from marl_ray.rllib.algorithm_config import build_algorithm_config, resolve_learner_gpus
from marl_ray.rllib.registration import register_envs
from marl_ray.storage import RunStorage
from marl_ray.tracking import tracking_callbacks
from marl_ray.trainables import RLLIB_ALGORITHMS, trainable_class

PROGRESS_COLUMNS = {
    METRIC_KEYS["timesteps"]: "env steps",
    METRIC_KEYS["episode_return_mean"]: "return",
    METRIC_KEYS["success_rate"]: "success",
    "time_total_s": "time (s)",
}


class ProgressTable(tune.CLIReporter):
    """Tune's progress table without its "Current best trial" line, which prints the trial's
    whole config (for RLlib trials, RLlib's): the table shows the searched values, and the
    run's summary names the best trial at the end."""

    def _current_best_trial(self, trials):
        return None, None


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
    quiet.install()  # before Ray's own start-up messages
    if address:
        token = enable_token_auth_if_found()
        try:
            ray.init(address=address, log_to_driver=True)
        except ConnectionError as exc:
            if not is_auth_failure(exc):
                raise
            used = f"the token from {token.source} was rejected" if token else "no token found"
            raise ConfigError(
                f"the Ray cluster at {address} refused us: {used}. {HOW_TO_GET_A_TOKEN}"
            ) from exc
    else:
        # "local": a new instance, never a `ray start` cluster this machine happens to run.
        ray.init(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=True,
            runtime_env={"worker_process_setup_hook": quiet.WORKER_SETUP_HOOK},
        )


def run_experiment(
    exp: ExperimentConfig,
    *,
    search: bool = False,
    address: str | None = None,
    verbose: int = 1,
    storage: RunStorage | None = None,
    callbacks: Sequence[tune.Callback] = (),
) -> RunSummary:
    """Trains `exp` (one trial), or its `tune` block's search when `search` is true, into
    `storage` (default: a new `<name>-<timestamp>` folder under `exp.storage_path`).
    `callbacks`: Tune callbacks of the caller's, beside the tracking ones of `exp.logging`."""
    started = time.time()
    quiet.install()
    check_algorithm_config(exp, 0)  # config errors before Ray starts
    if storage is None:
        storage = RunStorage.at(exp.storage_path, f"{exp.name}-{datetime.now():%Y%m%d-%H%M%S}")
    run_name = storage.name
    callbacks = [*tracking_callbacks(exp.logging, exp.name, storage), *callbacks]
    _prepare(address)
    cluster_gpus = ray.cluster_resources().get("GPU", 0.0)
    learner_gpus = resolve_learner_gpus(exp.resources.num_gpus, cluster_gpus)
    check_algorithm_config(exp, learner_gpus)  # before anything is written
    tune_config = tuning.tune_config(exp, search)
    pbt = search and exp.tune.scheduler == "pbt"
    param_space = make_param_space(exp, learner_gpus, search)
    _write_experiment(storage, exp, search)  # first, so an interrupted run can resume
    print(f"marl-ray: writing this run to {storage.location}", flush=True)
    tuner = tune.Tuner(
        trainable_class(exp.algorithm),
        param_space=param_space,
        tune_config=tune_config,
        run_config=tune.RunConfig(
            name=run_name,
            storage_path=storage.parent,
            stop=exp.stop.criteria(),
            verbose=verbose,
            callbacks=callbacks,
            failure_config=tune.FailureConfig(max_failures=exp.tune.max_failures),
            progress_reporter=ProgressTable(
                metric_columns=PROGRESS_COLUMNS,
                # The searched keys only: a trial's whole config is the experiment file.
                parameter_columns={f"search/{k}": k for k in param_space["search"]}
                or {"experiment/algorithm": "algorithm"},
                max_report_frequency=30,
            ),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=exp.checkpoint.frequency,
                checkpoint_at_end=exp.checkpoint.at_end,
                # PBT clones other trials' checkpoints: deleting old ones would pull them
                # from under an exploit in flight.
                num_to_keep=None if pbt else exp.checkpoint.num_to_keep,
            ),
        ),
    )
    return _finish(tuner.fit(), exp, storage, started)


def resume_experiment(path: str | Path, *, address: str | None = None) -> RunSummary:
    """Continues an interrupted run (`Tuner.restore`): finished trials are kept, unfinished
    and errored ones go on from their last checkpoint."""
    started = time.time()
    storage = RunStorage.of(str(path))
    spec = storage.read_text("experiment.yaml")
    if spec is None:
        raise ConfigError(f"{storage.location} is not a marl-ray run folder (no experiment.yaml)")
    exp = build_experiment(yaml.safe_load(spec))
    _prepare(address)
    if not tune.Tuner.can_restore(storage.location):
        raise ConfigError(f"{storage.location} holds no Tune experiment state to resume from")
    tuner = tune.Tuner.restore(
        storage.location,
        trainable=trainable_class(exp.algorithm),
        resume_unfinished=True,
        resume_errored=True,
    )
    return _finish(tuner.fit(), exp, storage, started)


def _prepare(address: str | None) -> None:
    # The classic reporter honours our column names; the newer engine ignores them.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    connect(address)
    register_envs()


def _finish(grid, exp: ExperimentConfig, storage: RunStorage, started: float) -> RunSummary:
    storage.pull()  # trial results, for the plots and the report (no-op when local)
    summary = summarise(grid, exp, storage, time.time() - started)
    write_json_atomic(storage.local / "summary.json", summary.to_dict())
    storage.push("summary.json", *(["learning_curve.png"] if summary.learning_curve else []))
    if len(grid) > 1:
        publish_report(storage)
    return summary


def check_algorithm_config(exp: ExperimentConfig, learner_gpus: int) -> None:
    """Builds the algorithm's own config once on the driver, so its errors come first."""
    if exp.algorithm in RLLIB_ALGORITHMS:
        build_algorithm_config(exp, learner_gpus)
        return
    trainable_class(exp.algorithm).build_config(exp, learner_gpus)
    if exp.env.name not in board_games.GAMES:
        # Agents that share a policy must share their spaces (our algorithms would find
        # out only inside the trial).
        core = envs.make_batched(exp.env.name, 1, exp.env.core_config)
        policy_groups(core, exp.multi_agent.policies, exp.algorithm)


def _write_experiment(storage: RunStorage, exp: ExperimentConfig, search: bool) -> None:
    data = exp.to_dict()
    if not search:  # a `train` run used none of the tune block's search
        data["tune"]["search_space"] = {}
        data["tune"]["scheduler"] = "none"
    storage.local.mkdir(parents=True, exist_ok=True)
    (storage.local / "experiment.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    storage.push("experiment.yaml")


def summarise(grid, exp: ExperimentConfig, storage: RunStorage, wall_s: float) -> RunSummary:
    """Picks the best trial by the experiment's metric, plots every trial's curve."""
    errors = [r.error for r in grid if r.error is not None]
    if errors and len(errors) == len(grid):
        raise RuntimeError(f"every trial failed; first error: {errors[0]}")
    key = metric_key(exp.tune.metric)
    ok = [r for r in grid if r.error is None]
    scored = [r for r in ok if finite_or_none(result_value(r.metrics, key)) is not None]
    pool = scored or ok
    sign = 1 if exp.tune.mode == "max" else -1
    best = max(pool, key=lambda r: sign * (finite_or_none(result_value(r.metrics, key)) or 0.0))
    curves = {Path(r.path).name: r.metrics_dataframe for r in ok if r.metrics_dataframe is not None}
    best_name = Path(best.path).name
    curve = None
    if curves:
        curve = plot_learning_curves(
            curves,
            storage.local / "learning_curve.png",
            f"{exp.algorithm} on {exp.env.name}",
            best_name,
        )
    m = best.metrics
    return RunSummary(
        algorithm=exp.algorithm,
        env=exp.env.name,
        name=exp.name,
        run_dir=storage.location,
        trials=len(grid),
        best_trial=best_name,
        timesteps=_int_or_none(result_value(m, METRIC_KEYS["timesteps"])),
        training_iterations=_int_or_none(m.get("training_iteration")),
        episode_return_mean=finite_or_none(result_value(m, METRIC_KEYS["episode_return_mean"])),
        success_rate=finite_or_none(result_value(m, METRIC_KEYS["success_rate"])),
        checkpoint=storage.uri_of(best.checkpoint.path) if best.checkpoint else None,
        learning_curve=storage.display(curve),
        wall_s=round(wall_s, 1),
        best_config=_trial_search_values(storage.local / Path(best.path).name),
    )


def _trial_search_values(trial_dir: Path) -> dict[str, Any]:
    """The search values Tune sampled for a trial (its results report RLlib's config)."""
    params = trial_dir / "params.json"
    return dict(json.loads(params.read_text()).get("search") or {}) if params.is_file() else {}


def _int_or_none(value: Any) -> int | None:
    v = finite_or_none(value)
    return None if v is None else int(v)
