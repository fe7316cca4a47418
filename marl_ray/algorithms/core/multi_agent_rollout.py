"""Acting in a batched core with several policies: one forward pass per policy per step.

Each policy's rows are its agent slots in every copy, copy-major (`row = copy * n + j` for
the policy's j-th slot), time-major over the rollout. A row whose slot holds no agent at a
step (agents that join and leave) is recorded with `mask` false and as terminated: it never
acts (the slot gets the env's idle action), never enters a loss, and its return neither
reaches back past the agent's leaving nor forward past a newcomer's joining.

The core runs without autoreset: when a copy finishes, the sampler reads its final
observations and global state first (a truncated agent's critic bootstraps from them), then
resets it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

import envs
from envs.observation_views import rows_with_peers
from marl_ray.algorithms.core.policy_map import PolicyGroup
from marl_ray.algorithms.core.policy_network import PolicyNetwork
from marl_ray.algorithms.core.rollout import EpisodeTracker


class PolicyRollout(NamedTuple):
    """`T` steps of one policy's `R` rows. Samplers run no critic per step: learners value
    the rows and the rows after the last step themselves, in one batched pass (as RLlib's
    learners do). The truncation values are the acting network's critic's: the states a
    truncated row reached are not kept."""

    obs: torch.Tensor  # [T, R, D] core rows acted on (action masks included)
    state: torch.Tensor  # [T, R, S] global state beside each row ([T, R, 0] if unused)
    actions: torch.Tensor  # [T, R] or [T, R, k]
    log_probs: torch.Tensor  # [T, R] log pi_behaviour(a|s)
    rewards: torch.Tensor  # [T, R]
    terminated: torch.Tensor  # [T, R] bool (absent rows too)
    truncated: torch.Tensor  # [T, R] bool
    truncation_values: torch.Tensor  # [T, R] critic on the state a truncated row reached
    mask: torch.Tensor  # [T, R] bool: the slot held an agent that acted
    bootstrap_obs: torch.Tensor  # [R, D] the rows after the last step
    bootstrap_state: torch.Tensor  # [R, S] the global state beside them ([R, 0] if unused)


def concat_policy_rollouts(rollouts: list[PolicyRollout]) -> PolicyRollout:
    """Joins rollouts of one policy along the row axis (time-major fields on axis 1)."""
    if len(rollouts) == 1:
        return rollouts[0]
    return PolicyRollout(
        **{
            name: torch.cat(
                [getattr(r, name) for r in rollouts], dim=0 if name.startswith("bootstrap") else 1
            )
            for name in PolicyRollout._fields
        }
    )


def set_network_weights(nets, weights: dict[str, dict[str, np.ndarray]]) -> None:
    """Loads published numpy state dicts (read-only arrays from the object store: copied)
    into a policy id -> network mapping."""
    for policy_id, state in weights.items():
        nets[policy_id].load_state_dict({k: torch.tensor(v) for k, v in state.items()})


class _GroupSlots:
    """Picks one policy group's rows out of `[E, A, ...]` arrays: a slice of the agent axis
    when its columns are consecutive (a view; no copy for a group of every agent)."""

    def __init__(self, group: PolicyGroup):
        cols = group.columns
        consecutive = cols == tuple(range(cols[0], cols[0] + len(cols)))
        self.columns = slice(cols[0], cols[-1] + 1) if consecutive else list(cols)
        self.count = len(cols)

    def rows(self, array: np.ndarray) -> np.ndarray:
        """`[E, A, ...]` -> the group's rows `[E * n, ...]` (copy-major)."""
        picked = array[:, self.columns]
        return picked.reshape(-1, *picked.shape[2:])


class _Buffer:
    """A policy's rollout fields, preallocated `[T, R, ...]` and written step by step."""

    def __init__(self, length: int, first: dict[str, torch.Tensor]):
        self.fields = {
            name: torch.empty((length, *value.shape), dtype=value.dtype)
            for name, value in first.items()
        }
        self.fields["truncation_values"].zero_()
        self.truncations: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        """(step, truncated rows, their final input rows, their state rows)."""

    def write(self, t: int, values: dict[str, torch.Tensor]) -> None:
        for name, value in values.items():
            self.fields[name][t] = value

    def value_truncations(self, net: PolicyNetwork) -> None:
        """The critic's values of every truncated row's final state, in one forward pass
        (the weights do not change within a rollout)."""
        if not self.truncations:
            return
        steps, where, rows, states = zip(*self.truncations, strict=True)
        values = net.value(torch.cat(rows), torch.cat(states))
        parts = values.split([len(r) for r in rows])
        for t, truncated, part in zip(steps, where, parts, strict=True):
            self.fields["truncation_values"][t][truncated] = part


class MultiAgentSampler:
    """Owns a batched core and one network per policy; collects `PolicyRollout`s."""

    def __init__(
        self,
        env_name: str,
        env_config: dict,
        num_envs: int,
        groups: list[PolicyGroup],
        nets: dict[str, PolicyNetwork],
        seed: int,
    ):
        self.env = envs.make_batched(env_name, num_envs, env_config)
        self.env.autoreset = False
        self.groups, self.nets = groups, nets
        self.slots = {g.policy_id: _GroupSlots(g) for g in groups}
        self.generator = torch.Generator().manual_seed(seed)
        self.needs_state = any(net.global_state for net in nets.values())
        self.obs, _ = self.env.reset(seed=seed)
        self.tracker = EpisodeTracker(num_envs)
        self.env_steps = 0
        self.agent_steps = 0

    def set_weights(self, weights: dict[str, dict[str, np.ndarray]]) -> None:
        set_network_weights(self.nets, weights)

    def _rows(self, array: np.ndarray, group: PolicyGroup) -> torch.Tensor:
        """`[E, A, ...]` -> the group's rows `[E * n, ...]` (copy-major)."""
        return torch.as_tensor(self.slots[group.policy_id].rows(array))

    def _input_rows(self, obs: np.ndarray, active: np.ndarray, group: PolicyGroup):
        """What the group's network reads for core rows `obs` `[E, A, D]`: its rows, or
        its rows with every peer's row and presence (`attention_comm`)."""
        if self.nets[group.policy_id].reads_peers:
            return torch.as_tensor(rows_with_peers(obs, active, list(group.columns)))
        return self._rows(obs, group)

    def _state_rows(self, state: np.ndarray | None, group: PolicyGroup) -> torch.Tensor:
        """The global state `[E, S]` repeated for each of the group's slots: `[E * n, S]`."""
        if state is None:
            return torch.empty(self.env.num_envs * len(group.columns), 0)
        return torch.as_tensor(np.repeat(state, len(group.columns), axis=0))

    @torch.no_grad()
    def rollout(self, length: int) -> dict[str, PolicyRollout]:
        env, E = self.env, self.env.num_envs
        buffers: dict[str, _Buffer] = {}
        masks: dict[str, torch.Tensor] = {}
        for t in range(length):
            active = env.active()
            state = env.state() if self.needs_state else None
            actions = env.idle_actions()
            for group in self.groups:
                net, slots = self.nets[group.policy_id], self.slots[group.policy_id]
                rows = self._input_rows(self.obs, active, group)
                state_rows = self._state_rows(state, group)
                sampled, log_probs = net.act(rows, self.generator)
                present = slots.rows(active)
                chosen = sampled.numpy().reshape(E, slots.count, *sampled.shape[1:])
                if present.all():
                    actions[:, slots.columns] = chosen
                else:
                    where = present.reshape(E, slots.count, *([1] * (chosen.ndim - 2)))
                    actions[:, slots.columns] = np.where(where, chosen, actions[:, slots.columns])
                mask = masks[group.policy_id] = torch.as_tensor(present)
                acted = {
                    "obs": rows,
                    "state": state_rows,
                    "actions": sampled,
                    "log_probs": log_probs,
                    "mask": mask,
                }
                if t == 0:
                    buffers[group.policy_id] = _Buffer(length, {**acted, **step_fields(mask)})
                buffers[group.policy_id].write(t, acted)
            out = env.step(actions)
            truncated_any = out.truncated.any()
            final_state = env.state() if self.needs_state and truncated_any else None
            for group in self.groups:
                mask, buffer = masks[group.policy_id], buffers[group.policy_id]
                terminated = self._rows(out.terminated, group) | ~mask
                truncated = self._rows(out.truncated, group) & ~terminated
                if truncated_any and truncated.any():  # valued after the rollout, in one pass
                    final_rows = self._input_rows(out.observations, env.active(), group)
                    final_state_rows = self._state_rows(final_state, group)
                    buffer.truncations.append(
                        (t, truncated, final_rows[truncated], final_state_rows[truncated])
                    )
                rewards = self._rows(out.rewards, group).float() * mask
                buffer.write(
                    t, {"rewards": rewards, "terminated": terminated, "truncated": truncated}
                )
            self.tracker.update(out.rewards, out.done, out.infos)
            self.agent_steps += int(active.sum())
            if out.done.any():
                self.obs = env.reset_copies(out.done, observations=out.observations)
            else:
                self.obs = out.observations
        self.env_steps += length * E
        state = env.state() if self.needs_state else None
        result = {}
        for group in self.groups:
            net = self.nets[group.policy_id]
            rows = self._input_rows(self.obs, env.active(), group)
            state_rows = self._state_rows(state, group)
            buffer = buffers[group.policy_id]
            buffer.value_truncations(net)
            result[group.policy_id] = PolicyRollout(
                **buffer.fields,
                bootstrap_obs=rows.clone(),  # rows may view the env's array
                bootstrap_state=state_rows,
            )
        return result


def step_fields(mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """What a step adds to a record after the env steps (shapes and dtypes)."""
    return {
        "rewards": torch.zeros(len(mask)),
        "terminated": mask,
        "truncated": mask,
        "truncation_values": torch.zeros(len(mask)),
    }
