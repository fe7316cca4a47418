"""The `logging` block: TensorBoard event files, an MLflow run and an offline W&B run of one
small training, each read back with the tracker's own reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TINY_MARL_PPO

from envs.schema import ConfigError
from marl_ray.cli import main
from marl_ray.config import build_experiment
from marl_ray.storage import RunStorage
from marl_ray.tracking import tracking_callbacks

GRID = "tune_configs/grid_world_marl_ppo.yaml"
RETURN = "env_runners/episode_return_mean"  # RLlib's key; our algorithms report the same
TINY = [
    *TINY_MARL_PPO,
    "stop.training_iteration=2",
    "stop.metric={}",
    "stop.time_total_s=null",
    "checkpoint.frequency=0",
]


def test_one_training_reaches_tensorboard_mlflow_and_wandb(ray_session, tmp_path, capsys):
    sets = [
        *TINY,
        "logging.mlflow={}",
        "logging.wandb={mode: offline, project: tracking-test}",
        f"storage_path={tmp_path}",
    ]
    assert main(["train", GRID, *[a for s in sets for a in ("--set", s)], "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (trial,) = [p.parent for p in Path(summary["run_dir"]).glob("*/params.json")]

    # TensorBoard: the scalar series, one point per iteration.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(trial))
    events.Reload()
    series = events.Scalars(f"ray/tune/{RETURN}")
    assert [e.step for e in series] == [1, 2]

    # MLflow: the run of the trial in the default file store beside the run folder.
    import mlflow

    client = mlflow.tracking.MlflowClient((tmp_path / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("grid_world_marl_ppo")
    (run,) = client.search_runs([experiment.experiment_id])
    history = client.get_metric_history(run.info.run_id, RETURN)
    assert [m.step for m in history] == [1, 2]
    assert run.data.params["experiment/algorithm"] == "MARL_PPO"  # the validated file

    # W&B offline: a run folder under the trial with the history written to it.
    (offline,) = (trial / "wandb").glob("offline-run-*")
    (log,) = offline.glob("run-*.wandb")
    assert log.stat().st_size > 0


def test_tensorboard_off_writes_no_event_files_and_missing_packages_are_named(
    tmp_path, monkeypatch
):
    exp = build_experiment({"logging": {"tensorboard": False}})
    storage = RunStorage.at(str(tmp_path), "run")
    names = [type(c).__name__ for c in tracking_callbacks(exp.logging, exp.name, storage)]
    assert names == ["CSVLoggerCallback", "JsonLoggerCallback"]

    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a)
    )
    exp = build_experiment({"logging": {"mlflow": {}}})
    with pytest.raises(ConfigError, match=r"marl-ray\[tracking\]"):
        tracking_callbacks(exp.logging, exp.name, storage)


def test_bad_logging_keys_name_what_is_allowed():
    with pytest.raises(ConfigError, match="logging.wandb.mode='cloud' is not allowed"):
        build_experiment({"logging": {"wandb": {"mode": "cloud"}}})
    with pytest.raises(ConfigError, match="allowed keys in logging.mlflow: tracking_uri"):
        build_experiment({"logging": {"mlflow": {"uri": "x"}}})
    exp = build_experiment({"logging": {"mlflow": {}}, "storage_path": "s3://bucket/runs"})
    with pytest.raises(ConfigError, match="tracking_uri is needed"):
        tracking_callbacks(exp.logging, exp.name, RunStorage.at(exp.storage_path, "r"))
