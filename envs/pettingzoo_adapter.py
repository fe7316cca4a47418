"""PettingZoo `ParallelEnv` view of one copy of a batched env."""

from __future__ import annotations

from typing import Any

from pettingzoo import ParallelEnv

from envs.core import BatchedEnv
from envs.single_copy import SingleCopy


class PettingZooParallelEnv(ParallelEnv):
    """Agents act simultaneously; finished agents leave `agents` as PettingZoo requires."""

    def __init__(self, core: BatchedEnv):
        self._copy = SingleCopy(core)
        self.core = core
        self.metadata = {**core.metadata, "name": core.name, "is_parallelizable": True}
        self.render_mode = core.render_mode
        self.possible_agents = list(core.episode_agent_ids)
        self.agents: list[str] = []
        self.observation_spaces = core.agent_spaces(core.observation_spaces)
        self.action_spaces = core.agent_spaces(core.action_spaces)

    def observation_space(self, agent: str):
        return self.observation_spaces[agent]

    def action_space(self, agent: str):
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs = self._copy.reset(seed)
        self.agents = list(self._copy.agents)
        return obs, {a: {} for a in obs}

    def step(self, actions: dict[str, Any]):
        obs, rewards, terminated, truncated, infos = self._copy.step(actions)
        self.agents = list(self._copy.agents)
        return obs, rewards, terminated, truncated, infos

    def render(self):
        if self.render_mode is None:
            return None
        return self._copy.render()

    def close(self):
        pass
