"""Acting in a batched core recorded as joint transitions (every agent slot of a copy
together: the mixers of VDN and QMIX and MADDPG's centralised critics need them), and the
epsilon-greedy sampler of per-policy Q networks.

A chunk holds `T` steps of `E` copies, time-major, `A` agent slots:
obs / next_obs `[T, E, A, D]` (next_obs: the state each step reached, the final one for
copies that finished), state / next_state `[T, E, S]`, actions, rewards, terminated,
truncated, present, next_present, first `[T, E, A]`. Slots without an agent (agents that
join and leave) are recorded absent and terminated, so no target reads across them. `first`
marks the steps where a slot's history starts (its episode's first step, or the first after
it was empty): recurrent agents' hidden states restart there. Recurrent samplers add
`hidden` `[1, E, A, H]`, the state every slot's sequence started from.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

import envs
from marl_ray.algorithms.core.multi_agent_rollout import set_network_weights
from marl_ray.algorithms.core.policy_map import PolicyGroup
from marl_ray.algorithms.core.q_network import QNetwork, epsilon_greedy, group_positions
from marl_ray.algorithms.core.rollout import EpisodeTracker

CHUNK_FIELDS = (
    "obs",
    "state",
    "actions",
    "rewards",
    "terminated",
    "truncated",
    "present",
    "next_obs",
    "next_state",
    "next_present",
    "first",
)


def history_starts(out, active: np.ndarray) -> np.ndarray:
    """`[E, A]` slots whose history starts at the next step (recurrent agents restart their
    hidden state there): the slot's agent ended its episode, the copy ended (and resets), or
    the slot held no agent at this step (`active`, before the step)."""
    return out.terminated | out.truncated | out.done[:, None] | ~active


class JointSampler:
    """Owns a batched core (stepped without autoreset) and records joint chunks of the
    actions an `act(obs [E, A, D], active [E, A]) -> actions` function chooses."""

    def __init__(self, env_name: str, env_config: dict, num_envs: int, seed: int):
        self.env = envs.make_batched(env_name, num_envs, env_config)
        self.env.autoreset = False
        self.generator = torch.Generator().manual_seed(seed)
        self.obs, _ = self.env.reset(seed=seed)
        self.tracker = EpisodeTracker(num_envs)
        self.env_steps = 0
        self.first = np.ones((num_envs, self.env.num_agents), dtype=bool)

    def record(self, length: int, act: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        """`length` joint steps of every copy (`CHUNK_FIELDS`, time-major)."""
        env = self.env
        steps: dict[str, list[np.ndarray]] = {k: [] for k in CHUNK_FIELDS}
        for _ in range(length):
            active, state = env.active(), env.state()
            actions = act(self.obs, active)
            out = env.step(actions)
            record = {
                "obs": self.obs,
                "state": state,
                "actions": actions,
                "rewards": out.rewards * active,
                "terminated": out.terminated | ~active,
                "truncated": out.truncated & active & ~out.terminated,
                "present": active,
                "next_obs": out.observations,
                "next_state": env.state(),
                "next_present": env.active(),
                "first": self.first,
            }
            for key, value in record.items():
                steps[key].append(np.asarray(value))
            self.first = history_starts(out, active)
            self.tracker.update(out.rewards, out.done, out.infos)
            self.obs = env.reset_copies(out.done) if out.done.any() else out.observations
        self.env_steps += length * env.num_envs
        return {k: torch.as_tensor(np.stack(v)) for k, v in steps.items()}


class QSampler(JointSampler):
    """Epsilon-greedy on one Q network per policy (recurrent ones keep every slot's hidden
    state, restarted where `first`)."""

    def __init__(
        self,
        env_name: str,
        env_config: dict,
        num_envs: int,
        groups: list[PolicyGroup],
        nets: dict[str, QNetwork],
        seed: int,
    ):
        super().__init__(env_name, env_config, num_envs, seed)
        self.groups, self.nets = groups, nets
        self.positions = {g.policy_id: group_positions(num_envs, len(g.columns)) for g in groups}
        self.hidden_size = max(net.hidden_size for net in nets.values())
        self.hidden = torch.zeros((num_envs, self.env.num_agents, self.hidden_size))

    def set_weights(self, weights: dict[str, dict[str, np.ndarray]]) -> None:
        set_network_weights(self.nets, weights)

    @torch.no_grad()
    def act(self, obs: np.ndarray, active: np.ndarray, epsilon: float) -> np.ndarray:
        """Epsilon-greedy actions `[E, A]` (absent slots: the env's idle action)."""
        env = self.env
        actions = env.idle_actions()
        if self.hidden_size:
            self.hidden[torch.as_tensor(self.first)] = 0.0
        for group in self.groups:
            cols = list(group.columns)
            rows = torch.as_tensor(obs[:, cols].reshape(-1, *obs.shape[2:]))
            net = self.nets[group.policy_id]
            hidden = self.hidden[:, cols].reshape(len(rows), -1)
            q, hidden = net.step(rows, self.positions[group.policy_id], hidden)
            self.hidden[:, cols] = hidden.reshape(env.num_envs, len(cols), -1)
            chosen = epsilon_greedy(q, net.allowed(rows), epsilon, self.generator)
            chosen = chosen.numpy().reshape(env.num_envs, len(cols))
            actions[:, cols] = np.where(active[:, cols], chosen, actions[:, cols])
        return actions

    def rollout(self, length: int, epsilon: float) -> dict[str, torch.Tensor]:
        start = self.hidden.clone()
        chunk = self.record(length, lambda obs, active: self.act(obs, active, epsilon))
        if self.hidden_size:
            chunk["hidden"] = start.unsqueeze(0)
        return chunk
