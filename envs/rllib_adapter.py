"""RLlib `MultiAgentEnv` view of one copy of a batched env (new API stack contract)."""

from __future__ import annotations

from typing import Any

from ray.rllib.env.multi_agent_env import MultiAgentEnv

from envs.core import BatchedEnv
from envs.single_copy import SingleCopy


class RLlibMultiAgentEnv(MultiAgentEnv):
    """Per-agent dicts with `__all__` flags; final obs and reward for truncated agents."""

    def __init__(self, core: BatchedEnv):
        super().__init__()
        self._copy = SingleCopy(core)
        self.core = core
        self.metadata = dict(core.metadata)
        self.render_mode = core.render_mode
        self.possible_agents = list(core.possible_agents)
        self.agents = list(core.possible_agents)
        self.observation_spaces = dict(core.observation_spaces)
        self.action_spaces = dict(core.action_spaces)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs = self._copy.reset(seed)
        self.agents = list(self._copy.agents)
        return obs, {a: {} for a in obs}

    def step(self, action_dict: dict[str, Any]):
        obs, rewards, terminated, truncated, infos = self._copy.step(action_dict)
        self.agents = list(self._copy.agents)
        terminated["__all__"] = all(terminated.values())
        truncated["__all__"] = not terminated["__all__"] and all(
            terminated[a] or truncated[a] for a in obs
        )
        return obs, rewards, terminated, truncated, infos

    def render(self):
        return self._copy.render()
