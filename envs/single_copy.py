"""One copy of a batched env seen through per-agent dicts; shared by every adapter.

Adapters (RLlib, PettingZoo) only translate between dicts and the core's arrays here; the
dynamics, auto-reset and seeding stay in the batched core, so the views cannot drift. For
envs whose agents join and leave, agent ids are mapped to the core's slots here: a leaving
agent reports its final step under its own id, a newcomer appears with its first
observation (reward 0) and acts from the next step on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core import BatchedEnv, EnvActionError


class SingleCopy:
    """Drives a `BatchedEnv` built with `num_envs=1` through per-agent dicts."""

    def __init__(self, core: BatchedEnv):
        if core.num_envs != 1:
            raise ValueError(f"SingleCopy needs a core with num_envs=1, got {core.num_envs}")
        if core.steps_without_agents:
            raise EnvActionError(
                f"{core.name}: this configuration has steps with no agent (e.g. vehicles' "
                "fixed_horizon), which the per-agent views (RLlib, PettingZoo) cannot express; "
                "use it on the batched core (evaluation) only"
            )
        self.core = core
        core.autoreset = False  # keep the final state visible until reset()
        self.possible_agents = list(core.episode_agent_ids)
        self.agents: list[str] = []
        self.slot_of: dict[str, int] = {}
        """Agent id -> its slot (its index on the core's agent axis)."""

    def reset(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Starts an episode; without a seed the copy's generator carries on."""
        obs, _ = self.core.reset(seed=None if seed is None else [seed])
        self._occupants()
        view = self.core.observation_view
        return {a: view(obs[0, i], i) for a, i in self.slot_of.items()}

    def _occupants(self) -> list[str]:
        """Refreshes `agents` and `slot_of` from the core; returns the ids new to `slot_of`."""
        ids = self.core.slot_agent_ids(0)
        active = self.core.active()[0]
        joined = [ids[i] for i in range(len(ids)) if active[i] and ids[i] not in self.slot_of]
        self.slot_of = {ids[i]: i for i in range(len(ids)) if active[i]}
        self.agents = list(self.slot_of)
        return joined

    def present_slots(self) -> np.ndarray:
        """`[A]` bool: slots whose agent is still in the episode."""
        present = np.zeros(self.core.num_agents, dtype=bool)
        present[[self.slot_of[a] for a in self.agents]] = True
        return present

    def step(self, action_dict: Mapping[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Steps the copy; returns per-agent obs, rewards, terminated, truncated, infos."""
        if not self.agents:
            raise EnvActionError(
                f"{self.core.name}: step() called on a finished episode; call reset() first"
            )
        unknown = set(action_dict) - set(self.agents)
        if unknown:
            raise EnvActionError(
                f"{self.core.name}: unknown agent(s) {sorted(unknown)}; "
                f"agents in the episode now: {self.agents}"
            )
        missing = [a for a in self.agents if a not in action_dict]
        if missing:
            raise EnvActionError(f"{self.core.name}: no action given for {missing}")
        acting = {a: self.slot_of[a] for a in self.agents}
        if self.core.dynamic_agents:
            actions = self.core.idle_actions()
            for a, i in acting.items():
                actions[0, i] = action_dict[a]
        else:
            actions = np.array([[action_dict[a] for a in self.core.possible_agents]])
        out = self.core.step(actions)
        obs = out.final_observations[0]
        # Python lists once per step: per-agent numpy scalar indexing is the slow part here.
        reward_list = out.rewards[0].tolist()
        term_list, trunc_list = out.terminated[0].tolist(), out.truncated[0].tolist()
        info_lists = {k: v[0].tolist() for k, v in out.infos.items()}  # [E] or [E, A] arrays
        observations, rewards, terminated, truncated, infos = {}, {}, {}, {}, {}

        def report(a: str, i: int, reward: float, term: bool, trunc: bool) -> None:
            observations[a] = self.core.observation_view(obs[i], i)
            rewards[a], terminated[a], truncated[a] = reward, term, trunc
            infos[a] = {k: v[i] if isinstance(v, list) else v for k, v in info_lists.items()}

        for a, i in acting.items():
            report(a, i, reward_list[i], term_list[i], trunc_list[i])
        if out.done[0]:
            self.agents = []
        elif self.core.dynamic_agents:
            for a in self._occupants():
                report(a, self.slot_of[a], 0.0, False, False)
        else:
            self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        return observations, rewards, terminated, truncated, infos

    def render(self) -> np.ndarray:
        return self.core.render(0)
