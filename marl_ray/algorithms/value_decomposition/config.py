"""IQL, VDN and QMIX settings (one config: they differ by the mixer)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import envs
from envs.schema import ConfigError, check, from_mapping
from marl_ray.algorithms.core.experiment import own_algorithm_config
from marl_ray.algorithms.core.off_policy_config import OFF_POLICY_EXTRA_KEYS, OffPolicyConfig
from marl_ray.algorithms.core.q_network import QModelConfig
from marl_ray.config import ExperimentConfig

MIXERS = {"IQL": "none", "VDN": "vdn", "QMIX": "qmix"}


@dataclass(frozen=True)
class QConfig(OffPolicyConfig):
    mixer: Literal["none", "vdn", "qmix"] = "qmix"
    """none: independent Q-learning (IQL); vdn: Q_tot = sum of the agents' Q; qmix: the
    monotonic mixer on the global state."""
    network: QModelConfig = field(default_factory=QModelConfig)
    mixer_embed: int = 32
    n_step: int = 1
    double_q: bool = True
    lr: float = 5e-4
    target_update_interval: int = 200
    """Hard target update every this many updates (used when `target_tau` is null)."""
    target_tau: float | None = None
    """Polyak averaging of the target networks after every update."""
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 50_000
    """Env steps over which epsilon falls linearly."""
    burn_in: int = 0
    """Recurrent agents: the first steps of every replayed sequence only warm the hidden
    state up from the stored one (no loss, no gradient), as in R2D2."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_step >= 1, "training.extra.n_step must be >= 1")
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
        check(
            0 <= self.burn_in < self.sequence_length,
            f"training.extra.burn_in ({self.burn_in}) must be in [0, sequence_length = "
            f"{self.sequence_length})",
        )
        check(
            self.burn_in == 0 or self.network.recurrent,
            "training.extra.burn_in needs recurrent agents (training.extra.recurrent: true)",
        )


EXTRA_KEYS = (
    *OFF_POLICY_EXTRA_KEYS,
    "mixer_embed",
    "n_step",
    "double_q",
    "target_update_interval",
    "target_tau",
    "epsilon_start",
    "epsilon_end",
    "epsilon_decay_steps",
    "burn_in",
)
TRAINING_KEYS = {
    "lr": "lr",
    "gamma": "gamma",
    "grad_clip": "grad_clip",
    "train_batch_size": "batch_size",
}


def q_model(exp: ExperimentConfig, extra: dict[str, Any]) -> QModelConfig:
    activation = "relu" if exp.model.activation == "linear" else exp.model.activation
    values = {"hidden_sizes": list(exp.model.hidden_sizes), "activation": activation, **extra}
    return from_mapping(QModelConfig, values, where="training.extra")


def q_config(exp: ExperimentConfig, learner_gpus: int = 0) -> QConfig:
    """IQL, VDN or QMIX (by `exp.algorithm`) from the experiment; refuses continuous
    actions with what is allowed."""
    config = own_algorithm_config(
        QConfig,
        exp,
        algorithm=exp.algorithm,
        extra_keys=EXTRA_KEYS,
        training_keys=TRAINING_KEYS,
        workers="num_samplers",
        envs_per_worker="num_envs_per_sampler",
        cpus_per_worker="num_cpus_per_sampler",
        learner_gpus=learner_gpus,
        network_extra=("agent_id", "recurrent", "rnn_hidden"),
        build_network=q_model,
        policies=True,
    )
    config = replace(config, mixer=MIXERS[exp.algorithm])
    core = envs.make_batched(config.env, 1, config.env_config)
    spaces = {type(s).__name__ for s in core.action_spaces.values()}
    if spaces != {"Discrete"}:
        raise ConfigError(
            f"{exp.algorithm} needs Discrete actions; {config.env} has {', '.join(sorted(spaces))} "
            "(continuous actions: MADDPG or MARL_PPO; or the env's discrete option, e.g. "
            "action_bins)"
        )
    return config
