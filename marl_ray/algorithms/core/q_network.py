"""Per-agent Q networks for value-based multi-agent learning (IQL, VDN, QMIX), built from a
policy group's spaces on the multi-agent core.

A policy shared by several slots appends each row's one-hot position within its group to the
observation (`agent_id`), the usual parameter sharing of QMIX and VDN: one network, agents
still told apart. Action masks in the observation (`{"observations", "action_mask"}`) are
read from the core's flat rows: masked actions are never chosen, greedily or at random, and
never the max of a target.

Recurrent agents (`recurrent: true`, for partial observability) put a GRU cell between the
MLP and the Q head: `step(rows, positions, hidden) -> (Q, hidden')`. A row's hidden state
restarts at zero where its agent starts an episode (or joins); samplers store the state each
replay sequence started from, and the learner unrolls the sequence from it.
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
    recurrent: bool = False
    """A GRU cell after the MLP: Q depends on the agent's history, not its observation alone."""
    rnn_hidden: int = 64
    """Size of the GRU's hidden state (with `recurrent`)."""

    def __post_init__(self) -> None:
        check(all(h > 0 for h in self.hidden_sizes), "hidden sizes must be positive")
        check(self.rnn_hidden > 0, "training.extra.rnn_hidden must be positive")


class QNetwork(nn.Module):
    """`step(rows [N, D], positions [N], hidden [N, H]) -> (Q [N, n], hidden')` (H = 0 and
    hidden passed through for feed-forward networks); `forward(rows, positions) -> Q` for
    feed-forward ones; `allowed(rows)` the action mask."""

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
        self.recurrent = config.recurrent
        self.hidden_size = config.rnn_hidden if config.recurrent else 0
        if self.recurrent:
            self.body = nn.Sequential(*layers)
            self.gru = nn.GRUCell(size, self.hidden_size)
            self.head = nn.Linear(self.hidden_size, self.num_actions)
        else:
            self.body = nn.Sequential(*layers, nn.Linear(size, self.num_actions))

    def _inputs(self, rows: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        inputs = rows.flatten(1)[:, self.obs_index]
        if self.id_size:
            inputs = torch.cat(
                [inputs, nn.functional.one_hot(positions, self.id_size).to(inputs.dtype)], -1
            )
        return inputs

    def forward(self, rows: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        if self.recurrent:
            raise TypeError("a recurrent Q network acts through step(rows, positions, hidden)")
        return self.body(self._inputs(rows, positions))

    def step(
        self, rows: torch.Tensor, positions: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.recurrent:
            return self.forward(rows, positions), hidden
        hidden = self.gru(self.body(self._inputs(rows, positions)), hidden)
        return self.head(hidden), hidden

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


class QPolicy:
    """A trained Q network as an evaluation policy: `policy(rows) -> Q` as the logits of the
    greedy action (masked actions at the lowest float). A recurrent network keeps every
    row's hidden state between calls; `restart(first [N])` zeroes the rows whose history
    starts (episode start, or an agent joining), the same rule the samplers follow."""

    def __init__(self, net: QNetwork, group_size: int):
        self.net, self.group_size = net, group_size
        self.hidden: torch.Tensor | None = None

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        if self.hidden is None or len(self.hidden) != len(rows):
            self.hidden = torch.zeros((len(rows), self.net.hidden_size))
        positions = group_positions(len(rows) // self.group_size, self.group_size)
        q, self.hidden = self.net.step(rows, positions, self.hidden)
        allowed = self.net.allowed(rows)
        return q if allowed is None else q.masked_fill(~allowed, torch.finfo(q.dtype).min)

    def restart(self, first: np.ndarray) -> None:
        if self.hidden is not None and len(self.hidden) == len(first):
            self.hidden[torch.as_tensor(first, dtype=torch.bool)] = 0.0
