"""One copy of a batched env seen through per-agent dicts; shared by every adapter.

Adapters (RLlib, PettingZoo) only translate between dicts and the core's arrays here; the
dynamics, auto-reset and seeding stay in the batched core, so the views cannot drift.
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
        self.core = core
        core.autoreset = False  # keep the final state visible until reset()
        self.possible_agents = list(core.possible_agents)
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}

    def reset(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Starts an episode; without a seed the copy's generator carries on."""
        obs, _ = self.core.reset(seed=None if seed is None else [seed])
        self.agents = list(self.possible_agents)
        view = self.core.observation_view
        return {a: view(obs[0, i]) for i, a in enumerate(self.possible_agents)}

    def step(self, action_dict: Mapping[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Steps the copy; returns per-agent obs, rewards, terminated, truncated, infos."""
        if not self.agents:
            raise EnvActionError(
                f"{self.core.name}: step() called on a finished episode; call reset() first"
            )
        unknown = set(action_dict) - set(self._index)
        if unknown:
            raise EnvActionError(
                f"{self.core.name}: unknown agent(s) {sorted(unknown)}; "
                f"agents are {self.possible_agents}"
            )
        missing = [a for a in self.agents if a not in action_dict]
        if missing:
            raise EnvActionError(f"{self.core.name}: no action given for {missing}")
        actions = np.array([[action_dict[a] for a in self.possible_agents]])
        out = self.core.step(actions)
        obs = out.final_observations[0]
        # Python lists once per step: per-agent numpy scalar indexing is the slow part here.
        reward_list = out.rewards[0].tolist()
        term_list, trunc_list = out.terminated[0].tolist(), out.truncated[0].tolist()
        info_lists = {k: v[0].tolist() for k, v in out.infos.items()}  # [E] or [E, A] arrays
        observations, rewards, terminated, truncated, infos = {}, {}, {}, {}, {}
        for a in self.agents:
            i = self._index[a]
            observations[a] = self.core.observation_view(obs[i])
            rewards[a] = reward_list[i]
            terminated[a] = term_list[i]
            truncated[a] = trunc_list[i]
            infos[a] = {k: v[i] if isinstance(v, list) else v for k, v in info_lists.items()}
        if out.done[0]:
            self.agents = []
        else:
            self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        return observations, rewards, terminated, truncated, infos

    def render(self) -> np.ndarray:
        return self.core.render(0)
