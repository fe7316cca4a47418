"""The experiment file's `logging` block as Tune callbacks: TensorBoard, MLflow, W&B.

Every algorithm, RLlib's and ours, reports the same result keys (`config.METRIC_KEYS`), so
the trackers show the same series names whichever algorithm trained.
"""

from __future__ import annotations

import os
from pathlib import Path

from envs.schema import ConfigError
from marl_ray.config import LoggingSection
from marl_ray.storage import RunStorage

INSTALL_HINT = "install it with pip install 'marl-ray[tracking]'"


def tracking_callbacks(section: LoggingSection, experiment_name: str, storage: RunStorage):
    """Tune logger callbacks for a run written to `storage`. CSV and JSON results are always
    written (reports read them); Tune's automatic loggers are switched off so that
    `tensorboard: false` holds."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    callbacks = [CSVLoggerCallback(), JsonLoggerCallback()]
    if section.tensorboard:
        callbacks.append(TBXLoggerCallback())
    if section.mlflow is not None:
        callbacks.append(_mlflow(section, experiment_name, storage))
    if section.wandb is not None:
        callbacks.append(_wandb(section, experiment_name, storage))
    return callbacks


def mlflow_tracking_uri(section: LoggingSection, storage: RunStorage) -> str:
    """The MLflow store a run logs to: the configured URI, or `<storage_path>/mlruns`."""
    assert section.mlflow is not None
    if section.mlflow.tracking_uri:
        return section.mlflow.tracking_uri
    if storage.remote:
        raise ConfigError(
            "logging.mlflow.tracking_uri is needed when storage_path is a URI (the default "
            "file store lies beside local run folders); give an MLflow server or a file: URI"
        )
    return (Path(storage.local).parent / "mlruns").as_uri()


def _mlflow(section: LoggingSection, experiment_name: str, storage: RunStorage):
    _require("mlflow", "logging.mlflow")
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    cfg = section.mlflow
    assert cfg is not None
    uri = mlflow_tracking_uri(section, storage)
    if uri.startswith("file:"):
        # MLflow 3 keeps its file store in maintenance mode and refuses it unless asked.
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    return MLflowLoggerCallback(
        tracking_uri=uri,
        experiment_name=cfg.experiment_name or experiment_name,
        tags={"marl_ray.run": storage.name},
        save_artifact=cfg.artifacts,
    )


def _wandb(section: LoggingSection, experiment_name: str, storage: RunStorage):
    _require("wandb", "logging.wandb")
    from ray.air.integrations.wandb import WandbLoggerCallback

    cfg = section.wandb
    assert cfg is not None
    # Ray checks for an API key unless the mode is in the environment.
    if cfg.mode == "offline":
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")

    class WandbCallback(WandbLoggerCallback):
        """Ray's callback, with each trial's W&B folder copied to the trial's storage once
        W&B has finished: Tune's final sync runs before the callbacks' experiment end, so a
        W&B run that finished after it (a short trial: W&B takes seconds to start) stayed
        in Ray's session folder."""

        def on_experiment_end(self, trials, **info):
            super().on_experiment_end(trials, **info)
            from ray.train._internal.storage import _upload_to_fs_path

            for trial in trials:
                local = Path(trial.local_path, "wandb")
                if local.is_dir():
                    fs, path = trial.storage.storage_filesystem, trial.storage.trial_fs_path
                    _upload_to_fs_path(str(local), fs, f"{path}/wandb")

    return WandbCallback(
        project=cfg.project or experiment_name,
        group=cfg.group or storage.name,
        upload_checkpoints=cfg.artifacts,
        log_config=False,
        mode=cfg.mode,
    )


def _require(package: str, key: str) -> None:
    import importlib.util

    if importlib.util.find_spec(package) is None:
        raise ConfigError(f"{key} needs the {package} package; {INSTALL_HINT}")
