"""MADDPG settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from envs.schema import check, from_mapping
from marl_ray.algorithms.core.experiment import own_algorithm_config
from marl_ray.algorithms.core.off_policy_config import OFF_POLICY_EXTRA_KEYS, OffPolicyConfig
from marl_ray.config import ExperimentConfig


@dataclass(frozen=True)
class MADDPGNetworkConfig:
    actor_hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    critic_hidden_sizes: list[int] = field(default_factory=lambda: [128, 128])
    activation: Literal["tanh", "relu", "silu"] = "relu"

    def __post_init__(self) -> None:
        sizes = [*self.actor_hidden_sizes, *self.critic_hidden_sizes]
        check(all(h > 0 for h in sizes), f"hidden sizes must be positive, got {sizes}")


@dataclass(frozen=True)
class MADDPGConfig(OffPolicyConfig):
    policies: str = "independent"
    """One actor and critic per agent (the paper), `by_group` or `shared` (with the agent's
    one-hot position given to the critic)."""
    network: MADDPGNetworkConfig = field(default_factory=MADDPGNetworkConfig)
    sequence_length: int = 4
    """Steps per sampler call (one replay sequence per env copy; targets are one-step)."""
    buffer_capacity: int = 500_000
    batch_size: int = 256
    learning_starts: int = 5_000
    updates_per_batch: int = 1
    gamma: float = 0.95
    grad_clip: float = 0.5
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    tau: float = 0.01
    """Polyak averaging of the target actors and critics after every update."""
    exploration_noise: float = 0.1
    """Box actions: Gaussian noise std as a fraction of the action range."""
    gumbel_temperature: float = 1.0
    """Discrete actions: temperature of the Gumbel-softmax samples."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.tau <= 1, "training.extra.tau must be in (0, 1]")
        check(self.exploration_noise >= 0, "training.extra.exploration_noise must be >= 0")
        check(self.gumbel_temperature > 0, "training.extra.gumbel_temperature must be > 0")


EXTRA_KEYS = (
    *OFF_POLICY_EXTRA_KEYS,
    "actor_lr",
    "critic_lr",
    "tau",
    "exploration_noise",
    "gumbel_temperature",
)
NETWORK_KEYS = ("actor_hidden_sizes", "critic_hidden_sizes")
TRAINING_KEYS = {"gamma": "gamma", "grad_clip": "grad_clip", "train_batch_size": "batch_size"}


def maddpg_network(exp: ExperimentConfig, extra: dict[str, Any]) -> MADDPGNetworkConfig:
    activation = "relu" if exp.model.activation == "linear" else exp.model.activation
    values = {"actor_hidden_sizes": list(exp.model.hidden_sizes), "activation": activation}
    return from_mapping(MADDPGNetworkConfig, {**values, **extra}, where="training.extra")


def maddpg_config(exp: ExperimentConfig, learner_gpus: int = 0) -> MADDPGConfig:
    return own_algorithm_config(
        MADDPGConfig,
        exp,
        algorithm="MADDPG",
        extra_keys=EXTRA_KEYS,
        training_keys=TRAINING_KEYS,
        workers="num_samplers",
        envs_per_worker="num_envs_per_sampler",
        cpus_per_worker="num_cpus_per_sampler",
        learner_gpus=learner_gpus,
        network_extra=NETWORK_KEYS,
        build_network=maddpg_network,
        policies=True,
    )
