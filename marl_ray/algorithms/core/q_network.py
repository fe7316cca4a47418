"""Per-agent Q networks for value-based multi-agent learning (IQL, VDN, QMIX), built from a
policy group's spaces on the multi-agent core.

A policy shared by several slots appends each row's one-hot position within its group to the
observation (`agent_id`), the usual parameter sharing of QMIX and VDN: one network, agents
still told apart. Action masks in the observation (`{"observations", "action_mask"}`) are
read from the core's flat rows: masked actions are never chosen, greedily or at random, and
never the max of a target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from envs.schema import ConfigError, check
from marl_ray.algorithms.core.networks import ACTIVATIONS
from marl_ray.algorithms.core.policy_network import ObservationLayout


@dataclass(frozen=True)
class QModelConfig:
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    activation: Literal["tanh", "relu", "silu"] = "relu"
    agent_id: bool = True
    """Shared policies: append the row's one-hot position in its group to the input."""

    def __post_init__(self) -> None:
        check(all(h > 0 for h in self.hidden_sizes), "hidden sizes must be positive")


class QNetwork(nn.Module):
    """`forward(rows [N, D], positions [N]) -> Q [N, n]`; `allowed(rows)` the action mask."""

    def __init__(
        self,
        layout: ObservationLayout,
        action_space: gym.Space,
        group_size: int,
        config: QModelConfig,
    ):
        super().__init__()
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ConfigError(
                f"value-based algorithms (IQL, VDN, QMIX) need Discrete actions, got "
                f"{action_space}; for continuous actions use MADDPG or MARL_PPO"
            )
        self.num_actions = int(action_space.n)
        self.register_buffer("obs_index", torch.tensor(layout.obs_index), persistent=False)
        self.register_buffer(
            "mask_index", torch.tensor(layout.mask_index, dtype=torch.long), persistent=False
        )
        self.masked = layout.masked
        self.id_size = group_size if (config.agent_id and group_size > 1) else 0
        size, layers = len(layout.obs_index) + self.id_size, []
        for hidden in config.hidden_sizes:
            layers += [nn.Linear(size, hidden), ACTIVATIONS[config.activation]()]
            size = hidden
        layers.append(nn.Linear(size, self.num_actions))
        self.body = nn.Sequential(*layers)

    def forward(self, rows: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        inputs = rows.flatten(1)[:, self.obs_index]
        if self.id_size:
            inputs = torch.cat(
                [inputs, nn.functional.one_hot(positions, self.id_size).to(inputs.dtype)], -1
            )
        return self.body(inputs)

    def allowed(self, rows: torch.Tensor) -> torch.Tensor | None:
        """`[N, n]` bool: actions the row's mask allows (None: all)."""
        if not self.masked:
            return None
        return rows.flatten(1)[:, self.mask_index] > 0.5


def epsilon_greedy(
    q: torch.Tensor,
    allowed: torch.Tensor | None,
    epsilon: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Greedy actions of `q` `[N, n]` among the allowed ones; with probability `epsilon` per
    row, a uniformly random allowed action instead."""
    if allowed is not None:
        q = q.masked_fill(~allowed, float("-inf"))
    greedy = q.argmax(-1)
    scores = torch.rand(q.shape, generator=generator)
    if allowed is not None:
        scores = scores.masked_fill(~allowed, -1.0)
    random = scores.argmax(-1)
    explore = torch.rand(q.shape[0], generator=generator) < epsilon
    return torch.where(explore, random, greedy)


def linear_epsilon(start: float, end: float, decay_steps: int, env_steps: int) -> float:
    """Epsilon falling linearly from `start` to `end` over `decay_steps` env steps."""
    if decay_steps <= 0:
        return end
    fraction = min(1.0, env_steps / decay_steps)
    return float(start + (end - start) * fraction)


def build_q_networks(core, groups, config: QModelConfig, seed: int) -> dict[str, QNetwork]:
    """One Q network per policy group; initial weights a function of `seed` alone."""
    nets = {}
    for index, group in enumerate(groups):
        layout = ObservationLayout.of(core, core.possible_agents[group.columns[0]])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1_000_003 + index)
            nets[group.policy_id] = QNetwork(layout, group.action_space, len(group.columns), config)
    return nets


def group_positions(num_envs: int, group_size: int) -> torch.Tensor:
    """Each row's position in its group for copy-major rows `[E * n]`."""
    return torch.as_tensor(np.tile(np.arange(group_size), num_envs))
