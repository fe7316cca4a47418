"""A3C settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from envs.schema import check, from_mapping
from marl_ray.algorithms.core.experiment import shared_settings, worker_resources
from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.config import ExperimentConfig


@dataclass(frozen=True)
class A3CConfig:
    env: str
    env_config: dict
    num_workers: int = 2
    num_envs_per_worker: int = 16
    num_cpus_per_worker: float = 1.0
    rollout_length: int = 20
    """n of the n-step returns: steps per gradient push."""
    gamma: float = 0.99
    lr: float = 7e-4
    optimizer: Literal["adam", "rmsprop"] = "adam"
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    grad_clip: float = 40.0
    max_staleness: int = 8
    """Gradients computed on weights more than this many versions old are dropped."""
    updates_per_iteration: int = 100
    """Gradient pushes handled per Tune iteration."""
    learner_gpus: int = 0
    network: NetworkConfig = field(default_factory=NetworkConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.num_workers >= 1, "resources.num_env_runners (A3C workers) must be >= 1")
        check(self.rollout_length >= 1, "training.extra.rollout_length must be >= 1")
        check(self.max_staleness >= 0, "training.extra.max_staleness must be >= 0")
        check(self.updates_per_iteration >= 1, "training.extra.updates_per_iteration >= 1")


@dataclass(frozen=True)
class A3CExtra:
    """Keys A3C reads from `training.extra` (anything else there is an error)."""

    rollout_length: int = 20
    optimizer: Literal["adam", "rmsprop"] = "adam"
    max_staleness: int = 8
    updates_per_iteration: int = 100
    encoder: Literal["mlp", "conv"] = "mlp"
    conv_channels: list[int] = field(default_factory=lambda: [16, 32])


def a3c_config(exp: ExperimentConfig, learner_gpus: int = 0) -> A3CConfig:
    extra = from_mapping(A3CExtra, exp.training.extra, where="training.extra")
    keys = ", ".join(f.name for f in fields(A3CExtra))
    shared = shared_settings(exp, "A3C", A3CConfig(env="", env_config={}), extra, keys)
    workers, envs_per_worker, cpus = worker_resources(exp)
    return A3CConfig(
        num_workers=workers,
        num_envs_per_worker=envs_per_worker,
        num_cpus_per_worker=cpus,
        rollout_length=extra.rollout_length,
        optimizer=extra.optimizer,
        max_staleness=extra.max_staleness,
        updates_per_iteration=extra.updates_per_iteration,
        learner_gpus=learner_gpus,
        **shared,
    )
