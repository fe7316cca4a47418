"""Envs written against other APIs, behind the batched interface: `E` copies stepped in a loop.

Accepted per copy (detected from the object, never guessed):
- a PettingZoo `ParallelEnv` (every live agent acts each step),
- a PettingZoo `AECEnv`: through PettingZoo's `aec_to_parallel` when its metadata says it is
  parallelizable, otherwise turn-based (`TurnBasedCopy`: the agents not to move wait),
- an RLlib `MultiAgentEnv` (`__all__` flags; simultaneous moves),
- a Gymnasium `Env`: one agent `agent_0`, or one agent per entry when both spaces are `Tuple`s
  of equal length and rewards come as a list (lbforaging, rware).

Each copy is normalised to `DictCopy` (per-agent dicts, as PettingZoo's parallel API), and
`CopiesBatch` lays the copies out as the core's `[E, A, D]` rows:
- Agents with observations of different sizes share rows padded with zeros to the widest;
  `observation_view(row, agent)` gives an agent's own shape back.
- Action masks (PettingZoo's `{"observation", "action_mask"}` dict observations, or
  `info["action_mask"]`) become the core's `{"observations", "action_mask"}` Dict space, which
  `action_mask`-capable modules read.
- The global state is the env's `state()` where it has one, otherwise every agent's
  observation concatenated (unpadded).
- An agent that leaves reports terminated from then on and its actions are not passed on;
  an agent the env did not have at reset may not join later (an error says so).

Copy i's env is seeded from the copy's generator at its first reset and continues its own
stream afterwards, so copy i of a batch follows a single env reset with the same seed.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv, EnvActionError, flat_bounds
from envs.schema import ConfigError

OBS_KEY, MASK_KEY = "observations", "action_mask"
PZ_OBS_KEY = "observation"
"""PettingZoo's key for the observation proper beside `action_mask`."""


class DictCopy(abc.ABC):
    """One env seen through per-agent dicts, whatever its own API."""

    possible_agents: list[str]
    observation_spaces: dict[str, gym.Space]
    action_spaces: dict[str, gym.Space]
    api: str
    """What the env was detected as (for messages and `check-env`)."""

    def __init__(self, env: Any):
        self.env = env

    @abc.abstractmethod
    def reset(self, seed: int | None) -> tuple[dict[str, Any], dict[str, dict]]:
        """Observations and infos of the agents in the new episode."""

    @abc.abstractmethod
    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict, bool]:
        """Observations, rewards, terminated, truncated, infos (per agent) and whether the
        episode is over for everyone."""

    def state(self) -> np.ndarray | None:
        """The env's own global state, if it has one."""
        return None

    @property
    def state_space(self) -> gym.Space | None:
        return None

    def render(self) -> Any:
        return self.env.render()


class ParallelCopy(DictCopy):
    api = "PettingZoo ParallelEnv"

    def __init__(self, env: Any):
        super().__init__(env)
        self.possible_agents = list(env.possible_agents)
        self.observation_spaces = {a: env.observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: env.action_space(a) for a in self.possible_agents}

    def reset(self, seed):
        return self.env.reset(seed=seed)

    def step(self, actions):
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        return obs, rewards, terminated, truncated, infos, not self.env.agents

    def state(self):
        try:
            return np.asarray(self.env.state(), dtype=np.float32).ravel()
        except (AttributeError, NotImplementedError):
            return None

    @property
    def state_space(self):
        space = getattr(self.env, "state_space", None)
        return space if isinstance(space, gym.spaces.Box) and self.state() is not None else None


class RLlibCopy(DictCopy):
    api = "RLlib MultiAgentEnv"

    def __init__(self, env: Any):
        super().__init__(env)
        agents = getattr(env, "possible_agents", None) or getattr(env, "agents", None)
        if not agents:
            raise ConfigError(
                f"{type(env).__name__}: an RLlib MultiAgentEnv must set `possible_agents` "
                "(the new API stack's contract)"
            )
        self.possible_agents = list(agents)
        self.observation_spaces = {a: env.get_observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: env.get_action_space(a) for a in self.possible_agents}

    def reset(self, seed):
        return self.env.reset(seed=seed)

    def step(self, actions):
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        done = bool(terminated.get("__all__", False) or truncated.get("__all__", False))
        strip = [{k: v for k, v in d.items() if k != "__all__"} for d in (terminated, truncated)]
        return obs, rewards, *strip, infos, done


class GymnasiumCopy(DictCopy):
    """A single-agent env (`agent_0`) or a multi-agent one with Tuple spaces (`agent_i`)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        obs_space, act_space = env.observation_space, env.action_space
        self.multi = (
            isinstance(obs_space, gym.spaces.Tuple)
            and isinstance(act_space, gym.spaces.Tuple)
            and len(obs_space) == len(act_space) >= 1
        )
        if self.multi:
            self.api = f"Gymnasium Env with {len(obs_space)} agents (Tuple spaces)"
            self.possible_agents = [f"agent_{i}" for i in range(len(obs_space))]
            self.observation_spaces = dict(zip(self.possible_agents, obs_space, strict=True))
            self.action_spaces = dict(zip(self.possible_agents, act_space, strict=True))
        else:
            self.api = "Gymnasium Env (one agent)"
            self.possible_agents = ["agent_0"]
            self.observation_spaces = {"agent_0": obs_space}
            self.action_spaces = {"agent_0": act_space}

    def _split(self, value: Any) -> dict[str, Any]:
        if not self.multi:
            return {"agent_0": value}
        return dict(zip(self.possible_agents, value, strict=True))

    def reset(self, seed):
        obs, info = self.env.reset(seed=seed)
        return self._split(obs), {a: info for a in self.possible_agents}

    def step(self, actions):
        joint = tuple(actions[a] for a in self.possible_agents)
        obs, reward, terminated, truncated, info = self.env.step(joint if self.multi else joint[0])
        agents = self.possible_agents
        if self.multi and np.ndim(reward) == 0:
            rewards = dict.fromkeys(agents, float(reward))  # a team reward
        else:
            rewards = self._split(reward)
        # A list of flags per agent or one flag for all.
        term = self._split(terminated) if np.ndim(terminated) else dict.fromkeys(agents, terminated)
        trunc = self._split(truncated) if np.ndim(truncated) else dict.fromkeys(agents, truncated)
        done = all(bool(term[a]) or bool(trunc[a]) for a in agents)
        return self._split(obs), rewards, term, trunc, {a: info for a in agents}, done


class TurnBasedCopy(DictCopy):
    """A turn-based PettingZoo `AECEnv` (one mover per step) as simultaneous moves.

    Every agent observes every step; each gets one extra action, `wait` (index n). The mover's
    mask allows its legal moves (the env's own mask) and not `wait`; every other agent's mask
    allows only `wait`. A forced `wait` has probability 1 under any masked policy, so it adds
    no policy gradient, while the rewards of the opponents' moves still reach each agent's
    return at the step they happen. Agents the env has finished are stepped with `None`.
    """

    api = "PettingZoo AECEnv (turn-based)"

    def __init__(self, env: Any):
        super().__init__(env)
        self.possible_agents = list(env.possible_agents)
        self.observation_spaces, self.action_spaces, self._n = {}, {}, {}
        for a in self.possible_agents:
            act = env.action_space(a)
            if not isinstance(act, gym.spaces.Discrete):
                raise ConfigError(
                    f"{type(env).__name__}: turn-based AEC envs need Discrete actions, "
                    f"{a} has {act}"
                )
            n = self._n[a] = int(act.n)
            inner = env.observation_space(a)
            if isinstance(inner, gym.spaces.Dict) and PZ_OBS_KEY in inner.spaces:
                inner = inner[PZ_OBS_KEY]
            mask = gym.spaces.Box(0, 1, (n + 1,), dtype=np.int8)
            self.observation_spaces[a] = gym.spaces.Dict({PZ_OBS_KEY: inner, MASK_KEY: mask})
            self.action_spaces[a] = gym.spaces.Discrete(n + 1)

    def _observe(self, agent: str) -> dict[str, np.ndarray]:
        raw = self.env.observe(agent)
        n = self._n[agent]
        legal = np.ones(n, dtype=np.int8)
        if isinstance(raw, dict) and PZ_OBS_KEY in raw:
            raw, legal = raw[PZ_OBS_KEY], raw.get(MASK_KEY, legal)
        elif MASK_KEY in self.env.infos.get(agent, {}):
            legal = self.env.infos[agent][MASK_KEY]
        mask = np.zeros(n + 1, dtype=np.int8)
        if agent == self.env.agent_selection and agent in self.env.agents:
            mask[:n] = np.asarray(legal, dtype=np.int8)
        else:
            mask[n] = 1
        return {PZ_OBS_KEY: raw, MASK_KEY: mask}

    def _skip_finished(self, rewards: dict[str, float]) -> None:
        env = self.env
        while env.agents and (
            env.terminations[env.agent_selection] or env.truncations[env.agent_selection]
        ):
            env.step(None)
            for a, r in env.rewards.items():
                rewards[a] = rewards.get(a, 0.0) + float(r)

    def reset(self, seed):
        self.env.reset(seed=seed)
        self._skip_finished({})
        return {a: self._observe(a) for a in self.env.agents}, {a: {} for a in self.env.agents}

    def step(self, actions):
        env = self.env
        before = list(env.agents)
        mover = env.agent_selection
        action = int(actions[mover])
        if action == self._n[mover]:
            raise EnvActionError(
                f"{type(env.unwrapped).__name__}: {mover} chose 'wait' (action {action}) on "
                "its turn; turn-based envs need an action_mask-capable module"
            )
        env.step(action)
        rewards = {a: float(r) for a, r in env.rewards.items()}
        self._skip_finished(rewards)
        terminated = {a: bool(env.terminations.get(a, a not in env.agents)) for a in before}
        truncated = {a: bool(env.truncations.get(a, False)) for a in before}
        obs = {a: self._observe(a) for a in before}
        infos = {a: {} for a in before}
        return obs, rewards, terminated, truncated, infos, not env.agents


def dict_copy(env: Any) -> DictCopy:
    """`env` seen through `DictCopy`; an object of no accepted API gets an error naming it."""
    from pettingzoo.utils.env import AECEnv, ParallelEnv

    if isinstance(env, ParallelEnv):
        return ParallelCopy(env)
    if isinstance(env, AECEnv):
        if env.metadata.get("is_parallelizable", False):
            from pettingzoo.utils.conversions import aec_to_parallel

            return ParallelCopy(aec_to_parallel(env))  # every agent acts once per cycle
        return TurnBasedCopy(env)
    try:
        from ray.rllib.env.multi_agent_env import MultiAgentEnv
    except ImportError:  # pragma: no cover - ray is a dependency
        MultiAgentEnv = ()  # noqa: N806
    if MultiAgentEnv and isinstance(env, MultiAgentEnv):
        return RLlibCopy(env)
    if isinstance(env, gym.Env):
        return GymnasiumCopy(env)
    raise ConfigError(
        f"{type(env).__module__}.{type(env).__name__} is not an env marl_ray can drive; "
        "accepted: a PettingZoo ParallelEnv, an RLlib MultiAgentEnv, a Gymnasium Env, or a "
        "subclass of envs.core.BatchedEnv"
    )


def has_action_masks(spaces: dict[str, gym.Space]) -> bool:
    """Some agent's observations carry an action mask (a Dict space with `action_mask`)."""
    return any(isinstance(s, gym.spaces.Dict) and MASK_KEY in s.spaces for s in spaces.values())


def _row_parts(space: gym.Space, info_mask: int) -> tuple[gym.Space, int, int]:
    """(the core's space for an agent's row, observation width, mask width)."""
    if isinstance(space, gym.spaces.Dict) and set(space.spaces) == {PZ_OBS_KEY, MASK_KEY}:
        obs, mask = space[PZ_OBS_KEY], space[MASK_KEY]
        return gym.spaces.Dict({OBS_KEY: _box(obs), MASK_KEY: _box(mask)}), _size(obs), _size(mask)
    if info_mask:
        mask = gym.spaces.Box(0, 1, (info_mask,), dtype=np.int8)
        return gym.spaces.Dict({OBS_KEY: _box(space), MASK_KEY: mask}), _size(space), info_mask
    return _box(space), _size(space), 0


def _box(space: gym.Space) -> gym.spaces.Box:
    """A Box for `space` (Box as is; Discrete and MultiBinary as bounds of their values)."""
    if isinstance(space, gym.spaces.Box):
        return space
    if isinstance(space, gym.spaces.Discrete):
        return gym.spaces.Box(space.start, space.start + space.n - 1, (1,), dtype=np.float32)
    if isinstance(space, gym.spaces.MultiBinary):
        return gym.spaces.Box(0, 1, (int(np.prod(space.shape)),), dtype=np.int8)
    if isinstance(space, gym.spaces.MultiDiscrete):
        high = (space.nvec - 1).ravel()
        return gym.spaces.Box(np.zeros_like(high), high, dtype=np.float32)
    raise ConfigError(
        f"observation space {space} is not supported; allowed: Box, Discrete, MultiBinary, "
        "MultiDiscrete, or PettingZoo's Dict of 'observation' and 'action_mask' (wrap others "
        "with env.wrappers, e.g. flatten_v0)"
    )


def _size(space: gym.Space) -> int:
    return len(flat_bounds(_box(space))[0])


class CopiesBatch(BatchedEnv):
    """`num_envs` copies of a foreign env (a `DictCopy` each) as one batched core."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        make_env: Callable[[str | None], Any],
        name: str,
        num_envs: int = 1,
        render_mode: str | None = None,
    ):
        self.name = name
        super().__init__(num_envs, render_mode)
        self._copies = [dict_copy(make_env(render_mode)) for _ in range(num_envs)]
        first = self._copies[0]
        self.api = first.api
        self.possible_agents = tuple(first.possible_agents)
        self.action_spaces = dict(first.action_spaces)
        info_masks = self._info_mask_sizes(first)
        spaces, self._obs_width, self._mask_width = {}, [], []
        for a in self.possible_agents:
            space, obs_w, mask_w = _row_parts(first.observation_spaces[a], info_masks.get(a, 0))
            spaces[a] = space
            self._obs_width.append(obs_w)
            self._mask_width.append(mask_w)
        self.observation_spaces = spaces
        self._native = first.observation_spaces
        self._info_mask = bool(info_masks)
        self._shapes = [self._own_shape(first.observation_spaces[a]) for a in self.possible_agents]
        width = max(o + m for o, m in zip(self._obs_width, self._mask_width, strict=True))
        self._rows = np.zeros((num_envs, self.num_agents, width), dtype=np.float32)
        self._started = [False] * num_envs
        self._live: list[set[str]] = [set() for _ in range(num_envs)]
        self._episode_agents: list[set[str]] = [set() for _ in range(num_envs)]

    @staticmethod
    def _own_shape(space: gym.Space) -> tuple[int, ...]:
        if isinstance(space, gym.spaces.Dict) and PZ_OBS_KEY in space.spaces:
            space = space[PZ_OBS_KEY]
        return _box(space).shape

    def _info_mask_sizes(self, copy: DictCopy) -> dict[str, int]:
        """Agents whose infos carry `action_mask` (probed on a throwaway reset)."""
        _, infos = copy.reset(seed=0)
        return {
            a: len(np.ravel(info[MASK_KEY]))
            for a, info in (infos or {}).items()
            if isinstance(info, dict) and MASK_KEY in info
        }

    @property
    def heterogeneous(self) -> bool:
        """Agents' rows differ in layout (padding is in use)."""
        return len({(o, m) for o, m in zip(self._obs_width, self._mask_width, strict=True)}) > 1

    # ---- core hooks -------------------------------------------------------------------

    def reset(self, seed=None):
        if seed is not None:
            self._started = [False] * self.num_envs
        return super().reset(seed)

    def _reset_copies(self, mask: np.ndarray) -> None:
        for e in np.flatnonzero(mask):
            seed = None if self._started[e] else int(self._rngs[e].integers(2**31))
            obs, infos = self._copies[e].reset(seed=seed)
            self._started[e] = True
            self._rows[e] = 0.0
            self._live[e] = set(obs)
            self._episode_agents[e] = set(obs)
            self._store(e, obs, infos or {})

    def _store(self, e: int, obs: dict[str, Any], infos: dict[str, Any]) -> None:
        for i, agent in enumerate(self.possible_agents):
            if agent not in obs:
                continue
            value, mask = obs[agent], None
            if isinstance(value, dict) and PZ_OBS_KEY in value:
                value, mask = value[PZ_OBS_KEY], value.get(MASK_KEY)
            elif self._info_mask and isinstance(infos.get(agent), dict):
                mask = infos[agent].get(MASK_KEY)
            w = self._obs_width[i]
            self._rows[e, i, :w] = np.asarray(value, dtype=np.float32).ravel()
            if mask is not None and self._mask_width[i]:
                self._rows[e, i, w : w + self._mask_width[i]] = np.ravel(mask)

    def _step(self, actions: np.ndarray):
        n, k = self.num_envs, self.num_agents
        rewards = np.zeros((n, k), dtype=np.float32)
        terminated = np.zeros((n, k), dtype=bool)
        truncated = np.zeros((n, k), dtype=bool)
        discrete = isinstance(self.action_spaces[self.possible_agents[0]], gym.spaces.Discrete)
        for e, copy in enumerate(self._copies):
            live = self._live[e]
            joint = {
                a: int(actions[e, i]) if discrete else actions[e, i]
                for i, a in enumerate(self.possible_agents)
                if a in live
            }
            obs, reward, term, trunc, infos, all_done = copy.step(joint)
            joined = set(obs) - self._episode_agents[e]
            if joined:
                raise EnvActionError(
                    f"{self.name}: agent(s) {sorted(joined)} joined mid-episode; agents must "
                    "all be present at reset (agents may leave)"
                )
            # Observations of agents that already left are not theirs to act on: dropped.
            self._store(e, {a: o for a, o in obs.items() if a in live}, infos or {})
            for i, agent in enumerate(self.possible_agents):
                if agent not in live:
                    terminated[e, i] = True
                    continue
                rewards[e, i] = reward.get(agent, 0.0)
                terminated[e, i] = bool(term.get(agent, False))
                truncated[e, i] = bool(trunc.get(agent, False))
            if all_done:  # the env ended the episode for everyone
                truncated[e] |= ~terminated[e]
            self._live[e] = {
                a
                for i, a in enumerate(self.possible_agents)
                if not (terminated[e, i] or truncated[e, i])
            }
        return rewards, terminated, truncated, {}

    def _observe(self) -> np.ndarray:
        return self._rows.copy()

    def observation_view(self, obs: np.ndarray, agent: int = 0) -> Any:
        w, m = self._obs_width[agent], self._mask_width[agent]
        own = obs[..., :w].reshape(*obs.shape[:-1], *self._shapes[agent])
        if not m:
            return own
        return {OBS_KEY: own, MASK_KEY: obs[..., w : w + m].astype(np.int8)}

    def state(self) -> np.ndarray:
        if self._env_state_space is not None:
            return np.stack([c.state() for c in self._copies]).astype(np.float32)
        parts = [self._rows[:, i, : self._obs_width[i]] for i in range(self.num_agents)]
        return np.concatenate(parts, axis=1)

    @functools.cached_property
    def _env_state_space(self) -> gym.spaces.Box | None:
        return self._copies[0].state_space

    @functools.cached_property
    def state_space(self) -> gym.spaces.Box:
        if self._env_state_space is not None:
            low, high = flat_bounds(self._env_state_space)
            return gym.spaces.Box(low, high, dtype=np.float32)
        bounds = [flat_bounds(_box(self._own_space(a))) for a in self.possible_agents]
        low = np.concatenate([lo for lo, _ in bounds])
        high = np.concatenate([hi for _, hi in bounds])
        return gym.spaces.Box(low, high, dtype=np.float32)

    def _own_space(self, agent: str) -> gym.Space:
        space = self._native[agent]
        if isinstance(space, gym.spaces.Dict) and PZ_OBS_KEY in space.spaces:
            return space[PZ_OBS_KEY]
        return space

    def render(self, env_index: int = 0) -> np.ndarray:
        try:
            return np.asarray(self._copies[env_index].render())
        except gym.error.DependencyNotInstalled as exc:
            raise ConfigError(f"rendering {self.name} needs an extra package: {exc}") from None
