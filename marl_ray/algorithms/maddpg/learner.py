"""MADDPG without Ray: actors, centralised critics, their target copies, the sampler's
exploration, and one update on replayed joint transitions.

Each policy group has an actor mu(o) (Box: tanh scaled to the action bounds; Discrete:
logits, masked actions at the lowest float) and a critic Q(s, a_1..a_N, id) on the env's
global state, every agent's action (Discrete one-hot; absent agents zero) and, for a group
of several agents, the agent's one-hot position. Per agent i of group g:
- critic: y_i = r_i + gamma * (1 - terminated_i) * Q'_g(s', mu'(o'_1)..mu'(o'_N), i)
  (truncated steps bootstrap; the target actors act greedily: one-hot argmax for Discrete);
- actor: maximise Q_g(s, a_1..mu_g(o_i)..a_N, i), other agents' actions from the batch,
  Discrete through the straight-through Gumbel-softmax (plus 1e-3 * mean logits^2, as the
  paper's code);
- both over present agents only; target networks by Polyak averaging (`tau`).
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import envs
from marl_ray.algorithms.core.multi_agent_rollout import set_network_weights
from marl_ray.algorithms.core.networks import ACTIVATIONS
from marl_ray.algorithms.core.policy_map import PolicyGroup, policy_groups
from marl_ray.algorithms.core.policy_network import ObservationLayout
from marl_ray.algorithms.core.q_network import group_positions
from marl_ray.algorithms.core.q_rollout import JointSampler
from marl_ray.algorithms.core.value_math import (
    gumbel_softmax_straight_through,
    maddpg_critic_target,
    polyak_update,
)
from marl_ray.algorithms.maddpg.config import MADDPGConfig, MADDPGNetworkConfig


def _mlp(size: int, hidden: list[int], activation: str, out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(size, h), ACTIVATIONS[activation]()]
        size = h
    layers.append(nn.Linear(size, out))
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """`forward(rows [N, D]) -> actions [N, k]` (Box, in the env's units) or logits `[N, n]`
    (Discrete, masked)."""

    def __init__(self, layout: ObservationLayout, space: gym.Space, config: MADDPGNetworkConfig):
        super().__init__()
        self.register_buffer("obs_index", torch.tensor(layout.obs_index), persistent=False)
        self.register_buffer(
            "mask_index", torch.tensor(layout.mask_index, dtype=torch.long), persistent=False
        )
        self.masked = layout.masked
        self.discrete = isinstance(space, gym.spaces.Discrete)
        if self.discrete:
            out = int(space.n)
        else:
            out = int(np.prod(space.shape))
            self.register_buffer("low", torch.as_tensor(space.low, dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(space.high, dtype=torch.float32))
        self.body = _mlp(len(layout.obs_index), config.actor_hidden_sizes, config.activation, out)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        out = self.body(rows.flatten(1)[:, self.obs_index])
        if self.discrete:
            if self.masked:
                allowed = rows.flatten(1)[:, self.mask_index] > 0.5
                out = out.masked_fill(~allowed, torch.finfo(out.dtype).min)
            return out
        return self.low + (torch.tanh(out) + 1.0) * 0.5 * (self.high - self.low)


def build_maddpg_policies(
    config: MADDPGConfig,
) -> tuple[envs.BatchedEnv, list[PolicyGroup], dict[str, Actor]]:
    core = envs.make_batched(config.env, 1, config.env_config)
    groups = policy_groups(core, config.policies, "MADDPG")
    actors = {}
    for index, group in enumerate(groups):
        layout = ObservationLayout.of(core, core.possible_agents[group.columns[0]])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed * 1_000_003 + index)
            actors[group.policy_id] = Actor(layout, group.action_space, config.network)
    return core, groups, actors


def action_size(space: gym.Space) -> int:
    return int(space.n) if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))


class MADDPGSampler(JointSampler):
    """Explores with Gaussian noise (Box) or Gumbel-softmax draws (Discrete)."""

    def __init__(self, config: MADDPGConfig, num_envs: int, seed: int):
        super().__init__(config.env, config.env_config, num_envs, seed)
        _, self.groups, self.actors = build_maddpg_policies(config)
        self.config = config

    def set_weights(self, weights) -> None:
        set_network_weights(self.actors, weights)

    @torch.no_grad()
    def act(self, obs: np.ndarray, active: np.ndarray, explore: bool = True) -> np.ndarray:
        env, cfg = self.env, self.config
        actions = env.idle_actions()
        for group in self.groups:
            cols, actor = list(group.columns), self.actors[group.policy_id]
            out = actor(torch.as_tensor(obs[:, cols].reshape(-1, *obs.shape[2:])))
            if actor.discrete:
                chosen = out.argmax(-1)
                if explore:
                    sample = gumbel_softmax_straight_through(
                        out, cfg.gumbel_temperature, self.generator
                    )
                    chosen = sample.argmax(-1)
            else:
                chosen = out
                if explore:
                    noise = torch.randn(out.shape, generator=self.generator)
                    width = actor.high - actor.low
                    chosen = (out + noise * cfg.exploration_noise * width).clamp(
                        actor.low, actor.high
                    )
            chosen = chosen.numpy().reshape(env.num_envs, len(cols), *actions.shape[2:])
            where = active[:, cols].reshape(env.num_envs, len(cols), *([1] * (actions.ndim - 2)))
            actions[:, cols] = np.where(where, chosen, actions[:, cols])
        return actions

    def rollout(self, length: int) -> dict[str, torch.Tensor]:
        return self.record(length, lambda obs, active: self.act(obs, active))


class MADDPGLearner:
    def __init__(self, config: MADDPGConfig, device: torch.device | str = "cpu"):
        self.config = config
        self.device = torch.device(device)
        core, self.groups, actors = build_maddpg_policies(config)
        self.num_agents = core.num_agents
        space = core.action_spaces[core.possible_agents[0]]
        self.discrete = isinstance(space, gym.spaces.Discrete)
        self.act_size = action_size(space)
        state_size = int(np.prod(core.state_space.shape))
        self.actors = nn.ModuleDict(actors).to(self.device)
        critics = {}
        for index, group in enumerate(self.groups):
            ids = len(group.columns) if len(group.columns) > 1 else 0
            size = state_size + self.num_agents * self.act_size + ids
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed * 1_000_003 + 500 + index)
                critics[group.policy_id] = _mlp(
                    size, config.network.critic_hidden_sizes, config.network.activation, 1
                )
        self.critics = nn.ModuleDict(critics).to(self.device)
        self.target_actors = copy.deepcopy(self.actors)
        self.target_critics = copy.deepcopy(self.critics)
        self.actor_optimizer = torch.optim.Adam(self.actors.parameters(), lr=config.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), lr=config.critic_lr)
        self.updates = 0

    def _encode(self, actions: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Joint actions `[N, A(, k)]` -> `[N, A, d]` (Discrete one-hot), absent agents 0."""
        if self.discrete:
            encoded = nn.functional.one_hot(actions.long(), self.act_size).float()
        else:
            encoded = actions.float().reshape(*actions.shape[:2], self.act_size)
        return encoded * present.unsqueeze(-1)

    def _greedy(self, actors: nn.ModuleDict, obs: torch.Tensor) -> torch.Tensor:
        """Every slot's greedy action, encoded `[N, A, d]`."""
        out = obs.new_zeros((obs.shape[0], self.num_agents, self.act_size))
        for group in self.groups:
            cols = list(group.columns)
            rows = obs[:, cols].reshape(-1, *obs.shape[2:])
            act = actors[group.policy_id](rows)
            if self.discrete:
                act = nn.functional.one_hot(act.argmax(-1), self.act_size).float()
            out[:, cols] = act.reshape(obs.shape[0], len(cols), self.act_size)
        return out

    def _critic_input(self, state, joint, group: PolicyGroup) -> tuple[torch.Tensor, int]:
        """Inputs `[n * N, ...]` for each of the group's agents (its position one-hot)."""
        n, N = len(group.columns), state.shape[0]
        base = torch.cat([state, joint.flatten(1)], -1)
        if n == 1:
            return base, n
        ids = nn.functional.one_hot(group_positions(1, n).to(state.device), n).float()
        ids = ids.repeat_interleave(N, 0)  # position-major: agent j's N rows together
        return torch.cat([base.repeat(n, 1), ids], -1), n

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg = self.config
        flat = {k: v.to(self.device).flatten(0, 1) for k, v in batch.items()}
        state, next_state = flat["state"].float(), flat["next_state"].float()
        present, next_present = flat["present"], flat["next_present"]
        joint = self._encode(flat["actions"], present)
        with torch.no_grad():
            next_joint = (
                self._greedy(self.target_actors, flat["next_obs"]) * next_present[..., None]
            )
        critic_losses, actor_losses = [], []
        self.critic_optimizer.zero_grad(set_to_none=True)
        for group in self.groups:
            cols = list(group.columns)
            critic, target = self.critics[group.policy_id], self.target_critics[group.policy_id]
            inputs, n = self._critic_input(state, joint, group)
            q = critic(inputs).squeeze(-1)
            with torch.no_grad():
                next_q = target(self._critic_input(next_state, next_joint, group)[0]).squeeze(-1)
                y = maddpg_critic_target(
                    flat["rewards"][:, cols].T.reshape(-1).float(),
                    next_q,
                    flat["terminated"][:, cols].T.reshape(-1),
                    cfg.gamma,
                )
            mask = present[:, cols].T.reshape(-1)
            if mask.any():
                loss = (q - y)[mask].pow(2).mean()
                loss.backward()
                critic_losses.append(float(loss.detach()))
        nn.utils.clip_grad_norm_(self.critics.parameters(), cfg.grad_clip)
        self.critic_optimizer.step()
        self.actor_optimizer.zero_grad(set_to_none=True)
        for group in self.groups:
            loss = self._actor_loss(group, flat, state, joint, present)
            if loss is not None:
                loss.backward()
                actor_losses.append(float(loss.detach()))
        nn.utils.clip_grad_norm_(self.actors.parameters(), cfg.grad_clip)
        self.actor_optimizer.step()
        for target, online in (
            (self.target_actors, self.actors),
            (self.target_critics, self.critics),
        ):
            polyak_update(target, online, cfg.tau)
        self.updates += 1
        return {
            "critic_loss": float(np.mean(critic_losses)) if critic_losses else 0.0,
            "actor_loss": float(np.mean(actor_losses)) if actor_losses else 0.0,
        }

    def _actor_loss(self, group, flat, state, joint, present) -> torch.Tensor | None:
        """-Q of the group's agents with each one's own action replaced by its actor's."""
        cols, N = list(group.columns), state.shape[0]
        mask = present[:, cols].T.reshape(-1)
        if not mask.any():
            return None
        actor = self.actors[group.policy_id]
        out = actor(flat["obs"][:, cols].reshape(-1, *flat["obs"].shape[2:]))  # [N * n, d]
        if self.discrete:
            own = gumbel_softmax_straight_through(out, self.config.gumbel_temperature)
        else:
            own = out
        own = own.reshape(N, len(cols), self.act_size)
        inputs = []
        for j, col in enumerate(cols):  # agent j's action from its actor, the others as played
            replaced = joint.clone()
            replaced[:, col] = own[:, j] * present[:, col, None]
            inputs.append(replaced)
        joint_j = torch.cat(inputs, 0)  # position-major [n * N, A, d]
        base = torch.cat([state.repeat(len(cols), 1), joint_j.flatten(1)], -1)
        if len(cols) > 1:
            ids = nn.functional.one_hot(
                torch.arange(len(cols), device=state.device).repeat_interleave(N), len(cols)
            ).float()
            base = torch.cat([base, ids], -1)
        q = self.critics[group.policy_id](base).squeeze(-1)
        loss = -q[mask].mean()
        if self.discrete:  # logits of present agents (rows of `out` are copy-major)
            loss = loss + 1e-3 * out[present[:, cols].reshape(-1)].pow(2).mean()
        return loss

    # ---- weights and state ---------------------------------------------------------------

    def get_weights(self) -> tuple[int, dict[str, dict[str, np.ndarray]]]:
        return self.updates, {
            k: {n: v.detach().cpu().clone().numpy() for n, v in a.state_dict().items()}
            for k, a in self.actors.items()
        }

    def policy_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        return {
            k: {n: v.detach().cpu().clone() for n, v in a.state_dict().items()}
            for k, a in self.actors.items()
        }

    def state_dict(self) -> dict[str, Any]:
        modules = {
            "actors": self.actors,
            "critics": self.critics,
            "target_actors": self.target_actors,
            "target_critics": self.target_critics,
        }
        return {
            **{
                k: {n: v.detach().cpu() for n, v in m.state_dict().items()}
                for k, m in modules.items()
            },
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "updates": self.updates,
            "weights": self.policy_weights(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("actors", "critics", "target_actors", "target_critics"):
            getattr(self, name).load_state_dict(state[name])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.updates = int(state["updates"])
