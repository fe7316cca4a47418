"""Settings every algorithm on the off-policy loop shares (samplers, replay, learner cadence);
IQL/VDN/QMIX and MADDPG extend them."""

from __future__ import annotations

from dataclasses import dataclass

from envs.schema import check


@dataclass(frozen=True)
class OffPolicyConfig:
    env: str
    env_config: dict
    policies: str = "shared"
    """`multi_agent.policies`: shared, independent or by_group."""
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
    grad_clip: float = 10.0
    broadcast_interval: int = 4
    """Publish the learner's weights to the samplers every k updates."""
    checkpoint_replay: bool = False
    """Save the replay buffer in checkpoints (up to `buffer_capacity` transitions: the
    learner's figure `replay_bytes` says how large)."""
    updates_per_iteration: int = 50
    learner_gpus: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.num_samplers >= 1, "resources.num_env_runners (samplers) must be >= 1")
        check(self.sequence_length >= 1, "training.extra.sequence_length must be >= 1")
        chunk = self.sequence_length * self.num_envs_per_sampler
        check(
            self.buffer_capacity >= chunk,
            f"training.extra.buffer_capacity ({self.buffer_capacity}) must hold one chunk "
            f"(sequence_length x env copies = {chunk})",
        )
        check(self.batch_size >= 1, "training.train_batch_size (sequences) must be >= 1")
        check(self.updates_per_batch >= 1, "training.extra.updates_per_batch must be >= 1")
        check(self.broadcast_interval >= 1, "training.extra.broadcast_interval must be >= 1")
        check(self.updates_per_iteration >= 1, "training.extra.updates_per_iteration >= 1")


OFF_POLICY_EXTRA_KEYS = (
    "sequence_length",
    "buffer_capacity",
    "learning_starts",
    "updates_per_batch",
    "broadcast_interval",
    "checkpoint_replay",
    "updates_per_iteration",
)
