"""RLlib `MultiAgentEnv` view of one copy of a batched env (new API stack contract)."""

from __future__ import annotations

from typing import Any

from ray.rllib.env.multi_agent_env import MultiAgentEnv

from envs.core import BatchedEnv
from envs.observation_views import view_observations, view_spaces
from envs.single_copy import SingleCopy


class RLlibMultiAgentEnv(MultiAgentEnv):
    """Per-agent dicts with `__all__` flags; final obs and reward for truncated agents.

    `view` pairs each observation with more of the copy for modules that need it (the global
    state for centralised critics, the other agents' observations for communication); see
    `envs.observation_views`.
    """

    def __init__(self, core: BatchedEnv, view: str = "own"):
        super().__init__()
        self._copy = SingleCopy(core)
        self.core = core
        self.view = view
        self.metadata = dict(core.metadata)
        self.render_mode = core.render_mode
        self.possible_agents = list(core.episode_agent_ids)
        self.agents = list(self.possible_agents)
        self.observation_spaces = core.agent_spaces(view_spaces(core, view))
        self.action_spaces = core.agent_spaces(core.action_spaces)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs = self._copy.reset(seed)
        self.agents = list(self._copy.agents)
        obs = self._view(obs)
        return obs, {a: {} for a in obs}

    def step(self, action_dict: dict[str, Any]):
        obs, rewards, terminated, truncated, infos = self._copy.step(action_dict)
        obs = self._view(obs)
        # The agents this step reports on, those that just finished included (RLlib checks
        # step results against `agents`); they act no more once their done flags are seen.
        self.agents = list(obs)
        terminated["__all__"] = all(terminated.values())
        truncated["__all__"] = not terminated["__all__"] and all(
            terminated[a] or truncated[a] for a in obs
        )
        return obs, rewards, terminated, truncated, infos

    def _view(self, obs: dict[str, Any]) -> dict[str, Any]:
        return view_observations(
            self.core, self.view, obs, self._copy.slot_of, self._copy.present_slots()
        )

    def render(self):
        return self._copy.render()
