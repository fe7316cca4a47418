"""Single-agent gymnasium envs (e.g. CartPole-v1) behind the batched interface.

Each copy is its own `gymnasium.Env`, stepped in a loop: the batch is a convenience for the
algorithms (one forward pass for all copies), not a fast path. The one agent is `agent_0`,
so arrays are `[E, 1, ...]` like any multi-agent core.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv
from envs.schema import ConfigError


def is_gymnasium_id(name: str) -> bool:
    return name in gym.registry


class GymnasiumBatch(BatchedEnv):
    """`num_envs` copies of `gym.make(env_id, **config)`."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        env_id: str,
        num_envs: int = 1,
        config: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ):
        self.name = env_id
        super().__init__(num_envs, render_mode)
        self.config = dict(config or {})
        self._envs = [
            gym.make(env_id, render_mode=render_mode, **self.config) for _ in range(num_envs)
        ]
        first = self._envs[0]
        self.possible_agents = ("agent_0",)
        self.observation_spaces = {"agent_0": first.observation_space}
        self.action_spaces = {"agent_0": first.action_space}
        shape = first.observation_space.shape
        self._obs = np.zeros((num_envs, 1, *shape), dtype=first.observation_space.dtype)
        self._started = [False] * num_envs

    def _reset_copies(self, mask: np.ndarray) -> None:
        for e in np.flatnonzero(mask):
            # The first reset seeds the copy's env from its generator; later resets continue
            # the env's own stream, as a single gymnasium env would.
            seed = None if self._started[e] else int(self._rngs[e].integers(2**31))
            self._obs[e, 0], _ = self._envs[e].reset(seed=seed)
            self._started[e] = True

    def reset(self, seed=None):
        if seed is not None:
            self._started = [False] * self.num_envs
        return super().reset(seed)

    def _step(self, actions: np.ndarray):
        n = self.num_envs
        rewards = np.zeros((n, 1), dtype=np.float32)
        terminated = np.zeros((n, 1), dtype=bool)
        truncated = np.zeros((n, 1), dtype=bool)
        for e, env in enumerate(self._envs):
            obs, reward, term, trunc, _ = env.step(actions[e, 0])
            self._obs[e, 0] = obs
            rewards[e, 0], terminated[e, 0], truncated[e, 0] = reward, term, trunc
        return rewards, terminated, truncated, {}

    def _observe(self) -> np.ndarray:
        return self._obs.copy()

    def render(self, env_index: int = 0) -> np.ndarray:
        try:
            return self._envs[env_index].render()
        except gym.error.DependencyNotInstalled as exc:
            raise ConfigError(f"rendering {self.name} needs an extra package: {exc}") from None
