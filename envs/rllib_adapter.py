"""RLlib `MultiAgentEnv` view of one copy of a batched env (new API stack contract)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from envs.core import BatchedEnv
from envs.single_copy import SingleCopy


class RLlibMultiAgentEnv(MultiAgentEnv):
    """Per-agent dicts with `__all__` flags; final obs and reward for truncated agents.

    With `global_state`, each agent's observation is `{"observations": its own, "state": the
    core's global state}`, so centralised critics train on the state while actors read only
    their own part (the state is data for the learner, not an input the policy uses).
    """

    def __init__(self, core: BatchedEnv, global_state: bool = False):
        super().__init__()
        self._copy = SingleCopy(core)
        self.core = core
        self.global_state = global_state
        self.metadata = dict(core.metadata)
        self.render_mode = core.render_mode
        self.possible_agents = list(core.possible_agents)
        self.agents = list(core.possible_agents)
        self.observation_spaces = dict(core.observation_spaces)
        if global_state:
            self.observation_spaces = {
                a: gym.spaces.Dict({"observations": space, "state": core.state_space})
                for a, space in self.observation_spaces.items()
            }
        self.action_spaces = dict(core.action_spaces)

    def _with_state(self, obs: dict[str, Any]) -> dict[str, Any]:
        if not self.global_state:
            return obs
        state = self.core.state()[0]
        return {a: {"observations": o, "state": state} for a, o in obs.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs = self._with_state(self._copy.reset(seed))
        self.agents = list(self._copy.agents)
        return obs, {a: {} for a in obs}

    def step(self, action_dict: dict[str, Any]):
        obs, rewards, terminated, truncated, infos = self._copy.step(action_dict)
        obs = self._with_state(obs)
        self.agents = list(self._copy.agents)
        terminated["__all__"] = all(terminated.values())
        truncated["__all__"] = not terminated["__all__"] and all(
            terminated[a] or truncated[a] for a in obs
        )
        return obs, rewards, terminated, truncated, infos

    def render(self):
        return self._copy.render()
