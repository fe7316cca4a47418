"""Third-party PettingZoo parallel envs behind the batched interface, registered as `pz/...`.

- `pz/simple_spread`: MPE's cooperative navigation from the `mpe2` package (MPE left
  PettingZoo), discrete actions.
- `pz/pistonball`: PettingZoo Butterfly's pistons, through SuperSuit: colour reduction to one
  channel, resize, frame stack, float32 and normalisation to [0, 1].

Each copy is its own PettingZoo env stepped in a loop (a convenience for one forward pass over
all copies, not a fast path). Observations are flattened into the core's `[E, A, D]` rows;
`observation_view` gives them back in the env's own shape. Copy i's env is seeded from the
copy's generator at its first reset and continues its own stream afterwards, so copy i of a
batch follows a single env reset with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.core import BatchedEnv
from envs.schema import check


@dataclass(frozen=True)
class SimpleSpreadConfig:
    """mpe2 simple_spread_v3: N agents cover N landmarks, penalised for collisions."""

    N: int = 3
    local_ratio: float = 0.5
    max_cycles: int = 25
    continuous_actions: bool = False
    """mpe2's continuous actions: Box(0, 1, (5,)) forces (no-op, left, right, down, up)."""

    def __post_init__(self) -> None:
        check(self.N >= 2, f"N must be >= 2, got {self.N}")
        check(0 <= self.local_ratio <= 1, "local_ratio must be in [0, 1]")
        check(self.max_cycles >= 1, "max_cycles must be >= 1")

    def make(self, render_mode: str | None):
        from mpe2 import simple_spread_v3

        return simple_spread_v3.parallel_env(
            N=self.N,
            local_ratio=self.local_ratio,
            max_cycles=self.max_cycles,
            continuous_actions=self.continuous_actions,
            render_mode=render_mode,
        )


@dataclass(frozen=True)
class PistonballConfig:
    """Butterfly pistonball_v6 with discrete actions (down, stay, up), through SuperSuit."""

    n_pistons: int = 20
    max_cycles: int = 125
    resize: int = 32
    """Observations are resized to resize x resize pixels."""
    frame_stack: int = 3

    def __post_init__(self) -> None:
        check(self.n_pistons >= 2, f"n_pistons must be >= 2, got {self.n_pistons}")
        check(self.max_cycles >= 1, "max_cycles must be >= 1")
        check(8 <= self.resize <= 128, f"resize must be in 8..128, got {self.resize}")
        check(self.frame_stack >= 1, "frame_stack must be >= 1")

    def make(self, render_mode: str | None):
        import supersuit as ss
        from pettingzoo.butterfly import pistonball_v6

        env = pistonball_v6.parallel_env(
            n_pistons=self.n_pistons,
            continuous=False,
            max_cycles=self.max_cycles,
            render_mode=render_mode,
        )
        env = ss.color_reduction_v0(env, mode="B")
        env = ss.resize_v1(env, self.resize, self.resize)
        env = ss.frame_stack_v1(env, self.frame_stack)
        env = ss.dtype_v0(env, np.float32)
        return ss.normalize_obs_v0(env, env_min=0, env_max=1)


class PettingZooBatch(BatchedEnv):
    """`num_envs` copies of one PettingZoo parallel env whose agents all act every step."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, num_envs: int = 1, config: Any = None, render_mode: str | None = None):
        super().__init__(num_envs, render_mode)
        self.config = config or self.config_class()
        self._envs = [self.config.make(render_mode) for _ in range(num_envs)]
        first = self._envs[0]
        self.possible_agents = tuple(first.possible_agents)
        self.observation_spaces = {a: first.observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: first.action_space(a) for a in self.possible_agents}
        self._shape = self.observation_spaces[self.possible_agents[0]].shape
        width = int(np.prod(self._shape))
        self._obs = np.zeros((num_envs, self.num_agents, width), dtype=np.float32)
        self._started = [False] * num_envs

    def reset(self, seed=None):
        if seed is not None:
            self._started = [False] * self.num_envs
        return super().reset(seed)

    def _reset_copies(self, mask: np.ndarray) -> None:
        for e in np.flatnonzero(mask):
            seed = None if self._started[e] else int(self._rngs[e].integers(2**31))
            obs, _ = self._envs[e].reset(seed=seed)
            self._started[e] = True
            self._store(e, obs)

    def _store(self, e: int, obs: dict[str, Any]) -> None:
        for i, agent in enumerate(self.possible_agents):
            if agent in obs:
                self._obs[e, i] = np.asarray(obs[agent], dtype=np.float32).ravel()

    def _step(self, actions: np.ndarray):
        n, a = self.num_envs, self.num_agents
        rewards = np.zeros((n, a), dtype=np.float32)
        terminated = np.zeros((n, a), dtype=bool)
        truncated = np.zeros((n, a), dtype=bool)
        for e, env in enumerate(self._envs):
            live = set(env.agents)
            joint = {ag: actions[e, i] for i, ag in enumerate(self.possible_agents) if ag in live}
            obs, reward, term, trunc, _ = env.step(joint)
            self._store(e, obs)
            for i, agent in enumerate(self.possible_agents):
                rewards[e, i] = reward.get(agent, 0.0)
                terminated[e, i] = term.get(agent, agent not in live)
                truncated[e, i] = trunc.get(agent, False)
            if not env.agents:  # the env ended the episode for everyone
                truncated[e] |= ~terminated[e]
        return rewards, terminated, truncated, {}

    def _observe(self) -> np.ndarray:
        return self._obs.copy()

    def observation_view(self, obs: np.ndarray) -> Any:
        return obs.reshape(*obs.shape[:-1], *self._shape)

    def render(self, env_index: int = 0) -> np.ndarray:
        return np.asarray(self._envs[env_index].render())


class SimpleSpread(PettingZooBatch):
    """mpe2 simple_spread_v3 (cooperative navigation), batched."""

    name = "pz/simple_spread"
    config_class = SimpleSpreadConfig


class Pistonball(PettingZooBatch):
    """PettingZoo Butterfly pistonball_v6 through SuperSuit, batched."""

    name = "pz/pistonball"
    config_class = PistonballConfig
