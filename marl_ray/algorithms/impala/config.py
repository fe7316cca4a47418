"""IMPALA settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from envs.schema import check
from marl_ray.algorithms.core.experiment import (
    ACTOR_CRITIC_TRAINING,
    own_algorithm_config,
    policy_model,
)
from marl_ray.algorithms.core.policy_network import PolicyModelConfig
from marl_ray.config import ExperimentConfig


@dataclass(frozen=True)
class ImpalaConfig:
    env: str
    env_config: dict
    policies: str = "shared"
    """`multi_agent.policies`: shared, independent or by_group."""
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
    network: PolicyModelConfig = field(default_factory=PolicyModelConfig)
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


EXTRA_KEYS = (
    "rollout_length",
    "batch_trajectories",
    "queue_size",
    "broadcast_interval",
    "optimizer",
    "clip_rho_threshold",
    "clip_c_threshold",
    "clip_pg_rho_threshold",
    "updates_per_iteration",
)


def impala_config(exp: ExperimentConfig, learner_gpus: int = 0) -> ImpalaConfig:
    return own_algorithm_config(
        ImpalaConfig,
        exp,
        algorithm="MARL_IMPALA",
        extra_keys=EXTRA_KEYS,
        training_keys=ACTOR_CRITIC_TRAINING,
        workers="num_actors",
        envs_per_worker="num_envs_per_actor",
        cpus_per_worker="num_cpus_per_actor",
        learner_gpus=learner_gpus,
        build_network=policy_model,
        policies=True,
    )
