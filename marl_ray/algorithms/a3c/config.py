"""A3C settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from envs.schema import check, from_mapping
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
    t, r = exp.training, exp.resources
    extra = from_mapping(A3CExtra, t.extra, where="training.extra")
    unsupported = [
        name
        for name in ("train_batch_size", "minibatch_size", "num_epochs", "gae_lambda", "clip_param")
        if getattr(t, name) is not None
    ]
    check(
        not unsupported,
        f"A3C does not use training.{', training.'.join(unsupported)}; its keys are lr, gamma, "
        "entropy_coeff, vf_loss_coeff, grad_clip and training.extra.{rollout_length, "
        "optimizer, max_staleness, updates_per_iteration, encoder, conv_channels}",
    )
    defaults = A3CConfig(env=exp.env.name, env_config={})
    return A3CConfig(
        env=exp.env.name,
        env_config=dict(exp.env.config),
        num_workers=r.num_env_runners,
        num_envs_per_worker=r.num_envs_per_env_runner,
        num_cpus_per_worker=r.num_cpus_per_env_runner,
        rollout_length=extra.rollout_length,
        gamma=defaults.gamma if t.gamma is None else t.gamma,
        lr=defaults.lr if t.lr is None else t.lr,
        optimizer=extra.optimizer,
        value_coef=defaults.value_coef if t.vf_loss_coeff is None else t.vf_loss_coeff,
        entropy_coef=defaults.entropy_coef if t.entropy_coeff is None else t.entropy_coeff,
        grad_clip=defaults.grad_clip if t.grad_clip is None else t.grad_clip,
        max_staleness=extra.max_staleness,
        updates_per_iteration=extra.updates_per_iteration,
        learner_gpus=learner_gpus,
        network=NetworkConfig(
            encoder=extra.encoder,
            hidden_sizes=list(exp.model.hidden_sizes),
            activation="tanh" if exp.model.activation == "linear" else exp.model.activation,
            conv_channels=list(extra.conv_channels),
        ),
        seed=exp.seed or 0,
    )
