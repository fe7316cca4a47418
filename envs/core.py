"""The batched environment interface every env implements once, in numpy.

Notation: `E` copies of the env step together, each with the same `A` possible agents.
Arrays are shaped `[E, A, ...]`. A copy whose agents are all terminated or truncated resets
itself inside `step`; the observation it finished on is reported in `final_observations`
and its end-of-episode metrics in `infos`, so no transition is lost.

Each copy draws its randomness from its own generator: copy `i` of a batch reset with
`seed=[s_0, ..., s_{E-1}]` behaves exactly like a single-copy env reset with `seed=s_i`.
This is what makes the batched core and the single-env adapters provably the same dynamics.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np


class EnvActionError(ValueError):
    """An action does not belong to its agent's action space."""


class BatchStep(NamedTuple):
    """What `BatchedEnv.step` returns; arrays are shaped `[E, A, ...]` unless noted."""

    observations: np.ndarray
    """Observations to act on next (already the first of a new episode for reset copies)."""
    rewards: np.ndarray
    """`[E, A]` float32 rewards for the step just taken."""
    terminated: np.ndarray
    """`[E, A]` bool: the agent's episode ended in a terminal state (no bootstrap)."""
    truncated: np.ndarray
    """`[E, A]` bool: the agent's episode was cut by a time limit (bootstrap from final obs)."""
    final_observations: np.ndarray
    """Observations the step produced before any reset; differs from `observations` only
    for copies in `done`."""
    done: np.ndarray
    """`[E]` bool: the copy finished an episode on this step (and was reset if `autoreset`)."""
    infos: dict[str, np.ndarray]
    """Per-copy metrics `[E]` (or `[E, A]`), measured before the reset."""


class BatchedEnv(abc.ABC):
    """Steps `num_envs` copies of a multi-agent env at once with numpy.

    Subclasses set `possible_agents`, `observation_spaces`, `action_spaces` (single-copy,
    per agent) in `__init__` and implement `_reset_copies`, `_step` and `_observe`.
    """

    name: ClassVar[str]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "render_fps": 4}
    dynamic_agents: ClassVar[bool] = False
    """Agents join and leave during an episode. The agent axis then holds slots
    (`possible_agents` names the slots); `active()` says which slots hold an agent and
    `slot_agent_ids(i)` names each slot's current occupant, unique within the episode.
    A slot an agent left is refilled one step later at the earliest, so a leaving agent's
    final observation and a newcomer's first never share a step. Inactive slots report
    terminated, so a copy is done when no agent is left (or all are truncated)."""
    possible_agents: tuple[str, ...]
    observation_spaces: dict[str, gym.Space]
    action_spaces: dict[str, gym.Space]

    def __init__(self, num_envs: int, render_mode: str | None = None):
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported by {self.name}; "
                f"allowed: None, {', '.join(map(repr, self.metadata['render_modes']))}"
            )
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.autoreset = True
        """Reset finished copies inside `step`. Single-copy views turn it off so that the
        final state stays renderable; they then call `reset_copies` themselves."""
        self._rngs: list[np.random.Generator] = [np.random.default_rng() for _ in range(num_envs)]

    @property
    def num_agents(self) -> int:
        return len(self.possible_agents)

    # ---- public API -------------------------------------------------------------------

    def reset(self, seed: int | Sequence[int] | None = None) -> tuple[np.ndarray, dict]:
        """Resets every copy. `seed` is one int for the batch or one int per copy."""
        if seed is not None:
            self._rngs = [np.random.default_rng(s) for s in self._copy_seeds(seed)]
        self._reset_copies(np.ones(self.num_envs, dtype=bool))
        return self._observe(), {}

    def step(self, actions: np.ndarray) -> BatchStep:
        """Applies `actions` (`[E, A]` ints for Discrete, `[E, A, k]` for Box) to every copy."""
        actions = self._check_actions(actions)
        rewards, terminated, truncated, infos = self._step(actions)
        observations = self._observe()
        done = (terminated | truncated).all(axis=1)
        final_observations = observations
        if done.any() and self.autoreset:
            final_observations = observations.copy()
            self.reset_copies(done, observations=observations)
        return BatchStep(
            observations, rewards, terminated, truncated, final_observations, done, infos
        )

    def reset_copies(self, mask: np.ndarray, observations: np.ndarray | None = None) -> np.ndarray:
        """Starts a new episode in the copies where `mask` is true; returns all observations.
        Given the current `observations` (what the last step returned), only the reset
        copies are observed again, written into that array."""
        mask = np.asarray(mask, dtype=bool)
        self._reset_copies(mask)
        if observations is None:
            return self._observe()
        observations[mask] = self._observe_copies(np.flatnonzero(mask))
        return observations

    def current_observations(self) -> np.ndarray:
        """`[E, A, D]` observations of the current state (what the last step returned)."""
        return self._observe()

    @property
    def steps_without_agents(self) -> bool:
        """An episode may go on through steps where no slot holds an agent (per-agent views,
        which end an episode once no agent is left, cannot express that)."""
        return False

    def active(self) -> np.ndarray:
        """`[E, A]` bool: slots that hold an agent now (every slot, for fixed agents)."""
        return np.ones((self.num_envs, self.num_agents), dtype=bool)

    def slot_agent_ids(self, env_index: int) -> list[str]:
        """The agent id in each slot of copy `env_index` (the slot names for fixed agents)."""
        return list(self.possible_agents)

    @property
    def episode_agent_ids(self) -> tuple[str, ...]:
        """Every agent id an episode can contain: what adapters declare as possible agents."""
        return self.possible_agents

    def agent_spaces(self, spaces: dict[str, gym.Space]) -> dict[str, gym.Space]:
        """Per-slot `spaces` keyed by episode agent id (every slot shares one space when
        agents are dynamic)."""
        if not self.dynamic_agents:
            return dict(spaces)
        first = spaces[self.possible_agents[0]]
        return {a: first for a in self.episode_agent_ids}

    def idle_actions(self) -> np.ndarray:
        """Valid actions `[E, A(, k)]` for slots without an agent (their lowest action)."""
        low, _, _ = self._action_bounds
        return np.broadcast_to(low, (self.num_envs, *low.shape)).copy()

    def state(self) -> np.ndarray:
        """`[E, S]` float32 global state of every copy, for centralised critics. Default:
        every agent's observation, concatenated; envs override it with a compact one."""
        return self._observe().reshape(self.num_envs, -1)

    @functools.cached_property
    def state_space(self) -> gym.spaces.Box:
        """The space of one copy's `state()` (default: the agents' observation bounds)."""
        bounds = [flat_bounds(self.observation_spaces[a]) for a in self.possible_agents]
        low = np.concatenate([lo for lo, _ in bounds])
        high = np.concatenate([hi for _, hi in bounds])
        return gym.spaces.Box(low, high, dtype=np.float32)

    def observation_view(self, obs: np.ndarray, agent: int = 0) -> Any:
        """Agent `agent`'s observation as its declared space holds it, from the core's array
        (`[..., D]`): the array itself, or a dict of slices for envs with Dict spaces. Rows
        of agents whose observations differ in size are padded; `agent` says whose."""
        return obs

    def sample_actions(self, rng: np.random.Generator) -> np.ndarray:
        """Uniformly random valid actions for every copy and agent: `[E, A]` ints (each
        agent within its own Discrete range) or `[E, A, k]` float32 (within its Box)."""
        low, high, _ = self._action_bounds
        space = self.action_spaces[self.possible_agents[0]]
        if isinstance(space, gym.spaces.Discrete):
            return rng.integers(low, high + 1, size=(self.num_envs, self.num_agents))
        return rng.uniform(low, high, (self.num_envs, *low.shape)).astype(np.float32)

    def render(self, env_index: int = 0) -> np.ndarray:
        """An RGB frame `[H, W, 3]` uint8 of copy `env_index`."""
        raise EnvActionError(f"{self.name} has no renderer")

    # ---- subclass hooks ---------------------------------------------------------------

    @abc.abstractmethod
    def _reset_copies(self, mask: np.ndarray) -> None:
        """Starts a new episode in every copy where `mask` (`[E]` bool) is true."""

    @abc.abstractmethod
    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """Advances every copy; returns rewards, terminated, truncated (`[E, A]`) and infos."""

    @abc.abstractmethod
    def _observe(self) -> np.ndarray:
        """Current observations `[E, A, ...]`."""

    def _observe_copies(self, copies: np.ndarray) -> np.ndarray:
        """Current observations of the copies at indices `copies` `[M, A, ...]` (after some
        copies were reset). Observes every copy; an env whose observation is costly may
        observe only these."""
        return self._observe()[copies]

    # ---- helpers ----------------------------------------------------------------------

    def _copy_seeds(self, seed: int | Sequence[int]) -> list[Any]:
        if isinstance(seed, int | np.integer):
            return list(np.random.SeedSequence(int(seed)).spawn(self.num_envs))
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(
                f"reset(seed=...) got {len(seeds)} seeds for {self.num_envs} copies; "
                "pass one int for the batch or exactly one per copy"
            )
        return seeds

    @functools.cached_property
    def _action_bounds(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Per-agent lowest and highest action (`[A]` for Discrete, `[A, k]` for Box) and
        whether agents' ranges differ; agents may have spaces of their own as long as all
        are Discrete or all Box of one shape."""
        spaces = [self.action_spaces[a] for a in self.possible_agents]
        if all(isinstance(s, gym.spaces.Discrete) for s in spaces):
            low = np.array([s.start for s in spaces])
            high = low + np.array([s.n for s in spaces]) - 1
            return low, high, bool(low.min() != low.max() or high.min() != high.max())
        if (
            all(isinstance(s, gym.spaces.Box) for s in spaces)
            and len({s.shape for s in spaces}) == 1
        ):
            low, high = np.stack([s.low for s in spaces]), np.stack([s.high for s in spaces])
            return low, high, True
        raise TypeError(
            f"{self.name}: agents' action spaces must be all Discrete or all Box of one shape"
        )

    def _check_actions(self, actions: Any) -> np.ndarray:
        space = self.action_spaces[self.possible_agents[0]]
        low, high, ragged = self._action_bounds
        actions = np.asarray(actions)
        if isinstance(space, gym.spaces.Discrete):
            expected = (self.num_envs, self.num_agents)
            if actions.shape != expected:
                raise EnvActionError(
                    f"{self.name}: actions must have shape {expected} "
                    f"(copies, agents), got {actions.shape}"
                )
            if actions.dtype.kind not in "iu":
                rounded = actions.astype(np.int64)
                if not np.array_equal(rounded, actions):
                    raise EnvActionError(
                        f"{self.name}: actions must be integers in "
                        f"[{space.start}, {space.start + space.n - 1}], got {actions.dtype}"
                    )
                actions = rounded
            # Two reductions against the loosest bounds first: the hot path.
            if actions.min() < low.min() or actions.max() > high.max() or ragged:
                bad = (actions < low) | (actions > high)
                if bad.any():
                    e, i = np.argwhere(bad)[0]
                    raise EnvActionError(
                        f"{self.name}: action {actions[e, i]} of {self.possible_agents[i]} is "
                        f"outside {self.action_spaces[self.possible_agents[i]]}; allowed: "
                        f"{low[i]}..{high[i]}"
                    )
            return actions
        if isinstance(space, gym.spaces.Box):
            expected = (self.num_envs, self.num_agents, *space.shape)
            if actions.shape != expected:
                raise EnvActionError(
                    f"{self.name}: actions must have shape {expected}, got {actions.shape}"
                )
            if not np.all(np.isfinite(actions)):
                raise EnvActionError(
                    f"{self.name}: actions contain NaN or infinity; allowed: finite values "
                    f"(clipped to {space.low.min()}..{space.high.max()})"
                )
            return np.clip(actions, low, high)
        raise TypeError(f"unsupported action space {space}")


def flat_bounds(space: gym.Space) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of a Box (or a Dict of Boxes) flattened as the core's rows
    hold it: float32 vectors."""
    boxes = space.spaces.values() if isinstance(space, gym.spaces.Dict) else [space]
    lows = [np.ravel(np.broadcast_to(b.low, b.shape)).astype(np.float32) for b in boxes]
    highs = [np.ravel(np.broadcast_to(b.high, b.shape)).astype(np.float32) for b in boxes]
    return np.concatenate(lows), np.concatenate(highs)
