"""`centralized_critic` (MAPPO with PPO): the actor reads the agent's own observation, the
critic the global state joined with the agent's own observation (MAPPO's agent-specific
global state: one shared critic must still tell agents apart, since their rewards differ).
Observations arrive as `{"observations": own, "state": global}`
(the experiment's env is registered with its global state for this module), so the state
reaches the learner with every sample while decisions use only local information.

Options: `hidden_sizes`, `activation` (actor), `critic_hidden_sizes` (default: same) and
`initial_log_std` (Box actions, as in `mlp`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from envs.schema import check
from marl_ray.rllib.modules.mlp import (
    check_initial_log_std,
    dist_inputs_size,
    mlp,
    own_options,
    set_initial_log_std,
)

OWN_KEY, STATE_KEY = "observations", "state"


@dataclass(frozen=True)
class CentralizedCriticOptions:
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    activation: Literal["tanh", "relu", "silu"] = "tanh"
    critic_hidden_sizes: list[int] | None = None
    initial_log_std: float = 0.0

    def __post_init__(self) -> None:
        sizes = [*self.hidden_sizes, *(self.critic_hidden_sizes or [])]
        check(all(h > 0 for h in sizes), f"hidden sizes must be positive, got {sizes}")
        check_initial_log_std(self.initial_log_std)


class CentralizedCriticModule(TorchRLModule, ValueFunctionAPI):
    """Decentralised actor, centralised critic."""

    options_class = CentralizedCriticOptions

    def setup(self) -> None:
        space = self.observation_space
        if not (isinstance(space, gym.spaces.Dict) and {OWN_KEY, STATE_KEY} <= set(space.spaces)):
            raise ValueError(
                f"centralized_critic needs observations {{{OWN_KEY!r}, {STATE_KEY!r}}} "
                f"(the env registered with its global state), got {space}"
            )
        opts = own_options(CentralizedCriticOptions, self.model_config)
        own_dim = int(np.prod(space.spaces[OWN_KEY].shape))
        state_dim = int(np.prod(space.spaces[STATE_KEY].shape))
        self.actor = mlp([own_dim, *opts.hidden_sizes], opts.activation)
        self.pi_head = nn.Linear(opts.hidden_sizes[-1], dist_inputs_size(self.action_space))
        if isinstance(self.action_space, gym.spaces.Box):
            set_initial_log_std(self.pi_head, opts.initial_log_std)
        critic_sizes = opts.critic_hidden_sizes or opts.hidden_sizes
        self.critic = mlp([state_dim + own_dim, *critic_sizes], opts.activation)
        self.value_head = nn.Linear(critic_sizes[-1], 1)

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        own = batch[Columns.OBS][OWN_KEY].flatten(1)
        return {Columns.ACTION_DIST_INPUTS: self.pi_head(self.actor(own))}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        obs = batch[Columns.OBS]
        critic_input = torch.cat([obs[STATE_KEY].flatten(1), obs[OWN_KEY].flatten(1)], dim=-1)
        return self.value_head(self.critic(critic_input)).squeeze(-1)
