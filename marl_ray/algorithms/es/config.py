"""ES settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field

from envs.schema import check
from marl_ray.algorithms.core.experiment import own_algorithm_config
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


EXTRA_KEYS = (
    "population",
    "sigma",
    "l2_coeff",
    "noise_table_size",
    "eval_episodes",
    "episode_step_budget",
    "generations_per_iteration",
    "observation_normalization",
)


def es_config(exp: ExperimentConfig, learner_gpus: int = 0) -> ESConfig:
    """ES takes `training.lr` and `training.extra`; gradient-method keys are errors."""
    return own_algorithm_config(
        ESConfig,
        exp,
        algorithm="ES",
        extra_keys=EXTRA_KEYS,
        training_keys={"lr": "lr"},
        workers="num_workers",
        envs_per_worker=None,
        cpus_per_worker="num_cpus_per_worker",
    )
