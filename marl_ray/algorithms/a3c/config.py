"""A3C settings, built from an experiment file."""

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
class A3CConfig:
    env: str
    env_config: dict
    policies: str = "shared"
    """`multi_agent.policies`: shared, independent or by_group."""
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
    network: PolicyModelConfig = field(default_factory=PolicyModelConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.num_workers >= 1, "resources.num_env_runners (A3C workers) must be >= 1")
        check(self.rollout_length >= 1, "training.extra.rollout_length must be >= 1")
        check(self.max_staleness >= 0, "training.extra.max_staleness must be >= 0")
        check(self.updates_per_iteration >= 1, "training.extra.updates_per_iteration >= 1")


EXTRA_KEYS = ("rollout_length", "optimizer", "max_staleness", "updates_per_iteration")


def a3c_config(exp: ExperimentConfig, learner_gpus: int = 0) -> A3CConfig:
    return own_algorithm_config(
        A3CConfig,
        exp,
        algorithm="A3C",
        extra_keys=EXTRA_KEYS,
        training_keys=ACTOR_CRITIC_TRAINING,
        workers="num_workers",
        envs_per_worker="num_envs_per_worker",
        cpus_per_worker="num_cpus_per_worker",
        learner_gpus=learner_gpus,
        build_network=policy_model,
        policies=True,
    )
