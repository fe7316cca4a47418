"""Distributed PPO settings (IPPO / MAPPO), built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field

from envs.schema import check
from marl_ray.algorithms.core.experiment import own_algorithm_config, policy_model
from marl_ray.algorithms.core.policy_network import PolicyModelConfig
from marl_ray.config import ExperimentConfig

PROXIMAL_POLICIES = ("current", "behaviour")


@dataclass(frozen=True)
class PPOConfig:
    env: str
    env_config: dict
    policies: str = "shared"
    """`multi_agent.policies`: shared, independent or by_group."""
    network: PolicyModelConfig = field(default_factory=PolicyModelConfig)
    num_workers: int = 2
    num_envs_per_worker: int = 32
    num_cpus_per_worker: float = 1.0
    train_batch_size: int = 4096
    """Env steps (copy steps, every agent in them) per update, over all workers."""
    minibatch_size: int = 1024
    """Agent rows per optimiser step, per policy."""
    num_epochs: int = 4
    lr: float = 3e-4
    lr_schedule: list[list[float]] | None = None
    """[[env_steps, lr], ...]: piecewise linear over the run's env steps (overrides lr)."""
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_param: float = 0.2
    value_clip: float | None = None
    """Value clipping around the acting critic's values (normalised units); null: off."""
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    entropy_schedule: list[list[float]] | None = None
    grad_clip: float = 0.5
    value_normalization: bool = True
    """The critic learns returns standardised by running statistics of every return seen."""
    target_kl: float | None = None
    """Stop an update's epochs once the mean approximate KL exceeds this."""
    lookahead: bool = False
    """Sample the next batch while the learner updates on this one (policy lag 1)."""
    proximal_policy: str = "current"
    """What the clip bounds the step from on a stale batch (policy lag > 0): `current`, the
    learner's policy before the update, with the behaviour policy as the importance weight
    (decoupled PPO, Hilton et al. 2021); or `behaviour`, the policy that sampled (plain PPO,
    whose stale rows start beyond the clip). Without lag the two are the same."""
    parallel_critic: bool = True
    """A CPU learner differentiates the actor's and the critic's losses at once, on two
    threads, where the two share no layer (identical gradients; the update takes about a
    third less time when a second core is free). false: one thread."""
    updates_per_iteration: int = 1
    learner_gpus: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.num_workers >= 1, "resources.num_env_runners (PPO workers) must be >= 1")
        steps = self.num_workers * self.num_envs_per_worker
        check(
            self.train_batch_size >= steps and self.train_batch_size % steps == 0,
            f"training.train_batch_size ({self.train_batch_size}) must be a multiple of the "
            f"env copies (num_env_runners x num_envs_per_env_runner = {steps})",
        )
        check(self.minibatch_size >= 1, "training.minibatch_size must be >= 1")
        check(self.num_epochs >= 1, "training.num_epochs must be >= 1")
        check(0 <= self.gae_lambda <= 1, "training.gae_lambda must be in [0, 1]")
        check(self.clip_param > 0, "training.clip_param must be > 0")
        check(self.value_clip is None or self.value_clip > 0, "value_clip must be > 0")
        check(self.target_kl is None or self.target_kl > 0, "target_kl must be > 0")
        check(self.updates_per_iteration >= 1, "training.extra.updates_per_iteration >= 1")
        check(
            self.proximal_policy in PROXIMAL_POLICIES,
            f"training.extra.proximal_policy must be one of {list(PROXIMAL_POLICIES)}, "
            f"got {self.proximal_policy!r}",
        )
        for name in ("lr_schedule", "entropy_schedule"):
            points = getattr(self, name)
            if points is not None:
                check(
                    len(points) >= 1
                    and all(len(p) == 2 for p in points)
                    and all(a[0] < b[0] for a, b in zip(points, points[1:], strict=False)),
                    f"training.extra.{name} must be [[env_steps, value], ...] with env_steps "
                    f"increasing, got {points}",
                )

    @property
    def rollout_length(self) -> int:
        return self.train_batch_size // (self.num_workers * self.num_envs_per_worker)


EXTRA_KEYS = (
    "lr_schedule",
    "value_clip",
    "entropy_schedule",
    "value_normalization",
    "target_kl",
    "lookahead",
    "proximal_policy",
    "parallel_critic",
    "updates_per_iteration",
)
TRAINING_KEYS = {
    "lr": "lr",
    "gamma": "gamma",
    "train_batch_size": "train_batch_size",
    "minibatch_size": "minibatch_size",
    "num_epochs": "num_epochs",
    "entropy_coeff": "entropy_coef",
    "grad_clip": "grad_clip",
    "gae_lambda": "gae_lambda",
    "clip_param": "clip_param",
    "vf_loss_coeff": "value_coef",
}


def ppo_config(exp: ExperimentConfig, learner_gpus: int = 0) -> PPOConfig:
    return own_algorithm_config(
        PPOConfig,
        exp,
        algorithm="MARL_PPO",
        extra_keys=EXTRA_KEYS,
        training_keys=TRAINING_KEYS,
        workers="num_workers",
        envs_per_worker="num_envs_per_worker",
        cpus_per_worker="num_cpus_per_worker",
        learner_gpus=learner_gpus,
        build_network=policy_model,
        policies=True,
    )
