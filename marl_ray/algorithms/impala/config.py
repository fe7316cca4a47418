"""IMPALA settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from envs.schema import check, from_mapping
from marl_ray.algorithms.core.experiment import shared_settings, worker_resources
from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.config import ExperimentConfig


@dataclass(frozen=True)
class ImpalaConfig:
    env: str
    env_config: dict
    num_actors: int = 2
    num_envs_per_actor: int = 32
    num_cpus_per_actor: float = 1.0
    rollout_length: int = 20
    batch_trajectories: int = 2
    """Trajectories (one per actor rollout) per learner update."""
    queue_size: int = 4
    """Finished trajectories waiting for the learner; actors pause when it is full."""
    broadcast_interval: int = 1
    """Publish the learner's weights every k updates."""
    gamma: float = 0.99
    lr: float = 5e-4
    optimizer: Literal["adam", "rmsprop"] = "adam"
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    grad_clip: float = 40.0
    clip_rho_threshold: float = 1.0
    clip_c_threshold: float = 1.0
    clip_pg_rho_threshold: float = 1.0
    updates_per_iteration: int = 20
    learner_gpus: int = 0
    network: NetworkConfig = field(default_factory=NetworkConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.num_actors >= 1, "resources.num_env_runners (IMPALA actors) must be >= 1")
        check(self.rollout_length >= 1, "training.extra.rollout_length must be >= 1")
        check(self.batch_trajectories >= 1, "training.extra.batch_trajectories must be >= 1")
        check(
            self.queue_size >= self.batch_trajectories,
            f"training.extra.queue_size ({self.queue_size}) must hold a batch "
            f"(batch_trajectories={self.batch_trajectories})",
        )
        check(self.broadcast_interval >= 1, "training.extra.broadcast_interval must be >= 1")


@dataclass(frozen=True)
class ImpalaExtra:
    """Keys IMPALA reads from `training.extra`."""

    rollout_length: int = 20
    batch_trajectories: int = 2
    queue_size: int = 4
    broadcast_interval: int = 1
    optimizer: Literal["adam", "rmsprop"] = "adam"
    clip_rho_threshold: float = 1.0
    clip_c_threshold: float = 1.0
    clip_pg_rho_threshold: float = 1.0
    updates_per_iteration: int = 20
    encoder: Literal["mlp", "conv"] = "mlp"
    conv_channels: list[int] = field(default_factory=lambda: [16, 32])


def impala_config(exp: ExperimentConfig, learner_gpus: int = 0) -> ImpalaConfig:
    extra = from_mapping(ImpalaExtra, exp.training.extra, where="training.extra")
    keys = ", ".join(f.name for f in fields(ImpalaExtra))
    shared = shared_settings(exp, "IMPALA", ImpalaConfig(env="", env_config={}), extra, keys)
    actors, envs_per_actor, cpus = worker_resources(exp)
    own = {f.name: getattr(extra, f.name) for f in fields(ImpalaExtra)}
    for name in ("encoder", "conv_channels"):
        own.pop(name)
    return ImpalaConfig(
        num_actors=actors,
        num_envs_per_actor=envs_per_actor,
        num_cpus_per_actor=cpus,
        learner_gpus=learner_gpus,
        **own,
        **shared,
    )
