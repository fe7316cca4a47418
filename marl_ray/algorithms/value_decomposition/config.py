"""IQL, VDN and QMIX settings (one config: they differ by the mixer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from envs.schema import check
from marl_ray.algorithms.core.q_network import QModelConfig

MIXERS = {"IQL": "none", "VDN": "vdn", "QMIX": "qmix"}


@dataclass(frozen=True)
class QConfig:
    env: str
    env_config: dict
    mixer: Literal["none", "vdn", "qmix"] = "qmix"
    """none: independent Q-learning (IQL); vdn: Q_tot = sum of the agents' Q; qmix: the
    monotonic mixer on the global state."""
    policies: str = "shared"
    network: QModelConfig = field(default_factory=QModelConfig)
    mixer_embed: int = 32
    num_samplers: int = 1
    num_envs_per_sampler: int = 32
    num_cpus_per_sampler: float = 1.0
    sequence_length: int = 8
    """Steps per sampler call, stored as one replay sequence per env copy."""
    buffer_capacity: int = 200_000
    """Replay capacity in transitions (joint steps of one copy)."""
    batch_size: int = 64
    """Sequences per update."""
    learning_starts: int = 1000
    """Env steps sampled before the first update."""
    updates_per_batch: int = 2
    """Learner updates per sampled chunk (the replay ratio)."""
    gamma: float = 0.99
    n_step: int = 1
    double_q: bool = True
    lr: float = 5e-4
    grad_clip: float = 10.0
    target_update_interval: int = 200
    """Hard target update every this many updates (used when `target_tau` is null)."""
    target_tau: float | None = None
    """Polyak averaging of the target networks after every update."""
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 50_000
    """Env steps over which epsilon falls linearly."""
    updates_per_iteration: int = 50
    learner_gpus: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.num_samplers >= 1, "resources.num_env_runners (samplers) must be >= 1")
        check(self.sequence_length >= 1, "training.extra.sequence_length must be >= 1")
        check(
            self.buffer_capacity >= self.sequence_length * self.num_envs_per_sampler,
            f"training.extra.buffer_capacity ({self.buffer_capacity}) must hold one chunk "
            f"(sequence_length x env copies = {self.sequence_length * self.num_envs_per_sampler})",
        )
        check(self.batch_size >= 1, "training.train_batch_size (sequences) must be >= 1")
        check(self.n_step >= 1, "training.extra.n_step must be >= 1")
        check(self.updates_per_batch >= 1, "training.extra.updates_per_batch must be >= 1")
        check(
            self.target_tau is None or 0 < self.target_tau <= 1,
            "training.extra.target_tau must be in (0, 1]",
        )
        check(self.target_update_interval >= 1, "target_update_interval must be >= 1")
        check(
            0 <= self.epsilon_end <= self.epsilon_start <= 1,
            "need 0 <= epsilon_end <= epsilon_start <= 1",
        )
        check(self.mixer_embed >= 1, "training.extra.mixer_embed must be >= 1")
