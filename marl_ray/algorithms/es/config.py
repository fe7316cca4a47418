"""ES settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from envs.schema import check, from_mapping
from marl_ray.algorithms.core.experiment import MINIBATCH_KEYS, worker_resources
from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.config import ExperimentConfig


@dataclass(frozen=True)
class ESConfig:
    env: str
    env_config: dict
    num_workers: int = 2
    num_cpus_per_worker: float = 1.0
    population: int = 50
    """Evaluations per generation: population / 2 mirrored pairs."""
    sigma: float = 0.05
    lr: float = 0.02
    l2_coeff: float = 0.005
    noise_table_size: int = 10_000_000
    eval_episodes: int = 5
    """Episodes of the current theta per generation (the reported returns)."""
    episode_step_budget: int = 0
    """Cut perturbation episodes after this many steps (0: the env's own limit)."""
    generations_per_iteration: int = 1
    observation_normalization: bool = True
    network: NetworkConfig = field(default_factory=lambda: NetworkConfig(hidden_sizes=[32, 32]))
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.num_workers >= 1, "resources.num_env_runners (ES workers) must be >= 1")
        check(
            self.population >= 2 and self.population % 2 == 0,
            f"training.extra.population must be an even number >= 2, got {self.population}",
        )
        check(self.sigma > 0, "training.extra.sigma must be > 0")
        check(self.noise_table_size >= 1000, "training.extra.noise_table_size must be >= 1000")

    @property
    def pairs(self) -> int:
        return self.population // 2


@dataclass(frozen=True)
class ESExtra:
    population: int = 50
    sigma: float = 0.05
    l2_coeff: float = 0.005
    noise_table_size: int = 10_000_000
    eval_episodes: int = 5
    episode_step_budget: int = 0
    generations_per_iteration: int = 1
    observation_normalization: bool = True
    encoder: Literal["mlp", "conv"] = "mlp"
    conv_channels: list[int] = field(default_factory=lambda: [16, 32])


def es_config(exp: ExperimentConfig, learner_gpus: int = 0) -> ESConfig:
    """ES takes `training.lr` and `training.extra`; gradient-method keys are errors."""
    t = exp.training
    unused = [
        n
        for n in (*MINIBATCH_KEYS, "gamma", "entropy_coeff", "vf_loss_coeff", "grad_clip")
        if getattr(t, n) is not None
    ]
    keys = ", ".join(f.name for f in fields(ESExtra))
    check(
        not unused,
        f"ES does not use training.{', training.'.join(unused)}; its keys are lr and "
        f"training.extra.{{{keys}}}",
    )
    extra = from_mapping(ESExtra, t.extra, where="training.extra")
    workers, _, cpus = worker_resources(exp)
    own = {f.name: getattr(extra, f.name) for f in fields(ESExtra)}
    encoder, channels = own.pop("encoder"), own.pop("conv_channels")
    return ESConfig(
        env=exp.env.name,
        env_config=dict(exp.env.config),
        num_workers=workers,
        num_cpus_per_worker=cpus,
        lr=ESConfig.lr if t.lr is None else t.lr,
        network=NetworkConfig(
            encoder=encoder,
            hidden_sizes=list(exp.model.hidden_sizes),
            activation="tanh" if exp.model.activation == "linear" else exp.model.activation,
            conv_channels=list(channels),
        ),
        seed=exp.seed or 0,
        **own,
    )
