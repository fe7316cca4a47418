"""Multi-agent grid world: cooperative (shared targets) or competitive (own targets).

Rules (all agents move simultaneously, so no agent's index changes the outcome):

- Actions: Discrete(5) = up, down, left, right, stay. Moves off the grid leave the agent in
  place.
- Collisions: `allow` lets agents share a cell. `block` cancels any move that would end in a
  cell another agent ends in, and any swap of two agents; cancelled agents stay, which may
  cancel further moves into their cell (resolved to a fixed point).
- Every agent pays `step_cost` every step.
- cooperative: `num_targets` shared targets (default 1). An agent earns `target_reward` the
  first time in an episode it stands on a target. When every agent stands on a target at the
  same time, each earns `team_bonus`, the episode terminates and counts as a success.
- competitive: agent i has its own target i. Agents that stand on their own target after a
  step earn `win_reward` (simultaneous arrivals all win); all others earn `lose_reward`; the
  episode terminates and counts as a success. Infos: `winner` is the index of the one agent
  that arrived, or -1 (nobody yet, or a draw: several arrived at once, `draw` true);
  `win_share` (`[E, A]`) gives each of the k simultaneous arrivals 1/k, everyone else 0, so
  win rates count a draw as split, never as a win for the lowest index.
- After `max_steps` steps the episode is truncated.
- Start: targets on distinct cells; agents on distinct cells that hold no target.

Observation of agent i (float32 vector, all entries within the declared bounds):
own position / (size - 1) in [0, 1]^2; offsets (target - own) / (size - 1) in [-1, 1]^2 for
each shared target (cooperative) or for its own target (competitive); offsets of the other
agents in index order starting after i; competitive only: offsets of the other agents'
targets; cooperative only: 1 if it has reached a target this episode; finally the elapsed
fraction of the episode step / max_steps in [0, 1].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv
from envs.schema import check

IMAGE_CHANNELS = 4
# Row, column deltas for up, down, left, right, stay.
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]], dtype=np.int64)

AGENT_COLOURS = np.array(
    [
        [230, 57, 70],
        [29, 114, 243],
        [42, 157, 60],
        [244, 162, 39],
        [142, 68, 173],
        [22, 160, 160],
        [120, 85, 60],
        [100, 100, 100],
    ],
    dtype=np.uint8,
)


@dataclass(frozen=True)
class GridWorldConfig:
    """Grid world parameters (see the module docstring for the rules)."""

    grid_size: int = 5
    """Side of the square grid, in cells."""
    num_agents: int = 2
    num_targets: int | None = None
    """Shared targets in cooperative mode (default 1); competitive mode has one per agent."""
    mode: Literal["cooperative", "competitive"] = "cooperative"
    max_steps: int = 50
    """Steps before the episode is truncated."""
    collisions: Literal["allow", "block"] = "allow"
    step_cost: float = 0.01
    target_reward: float = 1.0
    team_bonus: float = 10.0
    win_reward: float = 10.0
    lose_reward: float = -5.0
    observation: Literal["vector", "image"] = "vector"
    """image: per agent a [4, size, size] picture in [0, 1]: own position, the other agents,
    the targets it cares about (cooperative: all; competitive: its own), and a plane holding
    the elapsed fraction of the episode (for convolutional encoders such as grid_cnn)."""
    action_mask: bool = False
    """Observations become {"observations": ..., "action_mask": 5 flags}; moves off the
    grid are masked out (stay is always valid; a masked move taken anyway acts as stay)."""

    def __post_init__(self) -> None:
        check(self.grid_size >= 2, f"grid_size must be >= 2, got {self.grid_size}")
        check(1 <= self.num_agents <= 8, f"num_agents must be in 1..8, got {self.num_agents}")
        check(self.max_steps >= 1, f"max_steps must be >= 1, got {self.max_steps}")
        if self.mode == "competitive":
            check(
                self.num_targets in (None, self.num_agents),
                f"competitive mode has one target per agent: num_targets must be "
                f"{self.num_agents} or unset, got {self.num_targets}",
            )
        else:
            check(
                self.num_targets is None or self.num_targets >= 1,
                f"num_targets must be >= 1, got {self.num_targets}",
            )
        targets = self.targets
        check(
            self.num_agents + targets <= self.grid_size**2,
            f"{self.num_agents} agents and {targets} targets do not fit on distinct cells "
            f"of a {self.grid_size}x{self.grid_size} grid",
        )
        if self.mode == "cooperative" and self.collisions == "block":
            check(
                targets >= self.num_agents,
                f"with collisions: block, every agent needs its own target cell: "
                f"num_targets must be >= num_agents ({self.num_agents}), got {targets}",
            )

    @property
    def targets(self) -> int:
        if self.mode == "competitive":
            return self.num_agents
        return 1 if self.num_targets is None else self.num_targets


class GridWorld(BatchedEnv):
    """Batched grid world; see the module docstring."""

    name = "grid_world"
    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    config_class = GridWorldConfig

    def __init__(
        self,
        num_envs: int = 1,
        config: GridWorldConfig | None = None,
        render_mode: str | None = None,
    ):
        super().__init__(num_envs, render_mode)
        self.config = config = config or GridWorldConfig()
        n, k = config.num_agents, config.targets
        self.cooperative = config.mode == "cooperative"
        self.possible_agents = tuple(f"agent_{i}" for i in range(n))
        # Rows of `points` = targets then agents, that agent i observes as offsets: the targets
        # it cares about, the other agents (starting after i, so every agent sees the same
        # layout) and, when competitive, the other agents' targets.
        others = [[(i + j) % n for j in range(1, n)] for i in range(n)]
        if self.cooperative:
            seen = [list(range(k)) + [k + j for j in others[i]] for i in range(n)]
        else:
            seen = [[i] + [k + j for j in others[i]] + others[i] for i in range(n)]
        self._seen = np.array(seen, dtype=np.int64).reshape(n, -1)
        self._every_agent = np.ones((1, n), dtype=bool)
        low, high = self._observation_bounds(n, k)
        self._obs_size = len(low)
        obs_space = gym.spaces.Box(low, high, dtype=np.float32)
        if config.observation == "image":
            self._obs_size = IMAGE_CHANNELS * config.grid_size**2
            shape = (IMAGE_CHANNELS, config.grid_size, config.grid_size)
            obs_space = gym.spaces.Box(0.0, 1.0, shape, dtype=np.float32)
        if config.action_mask:
            mask_space = gym.spaces.Box(0, 1, (len(MOVES),), dtype=np.int8)
            obs_space = gym.spaces.Dict({"observations": obs_space, "action_mask": mask_space})
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: gym.spaces.Discrete(5) for a in self.possible_agents}
        size = config.grid_size
        # State lives in flat cell ids (row * size + col); two lookup tables give moves
        # (walls included) and coordinates, so a step is a handful of array operations.
        rows, cols = np.divmod(np.arange(size * size), size)
        self._coords = np.stack([rows, cols], axis=1)  # cell -> (row, col)
        moved = self._coords[:, None, :] + MOVES[None, :, :]
        moved = np.clip(moved, 0, size - 1)
        self._next_cell = moved[..., 0] * size + moved[..., 1]  # [cell, action] -> cell
        stays = self._next_cell == np.arange(size * size)[:, None]
        self._move_mask = (~stays).astype(np.float32)
        self._move_mask[:, len(MOVES) - 1] = 1.0  # [cell, action] -> 1 if the move is valid
        scale = 1.0 / (size - 1)
        self._scaled_coords = (self._coords * scale).astype(np.float32)
        # [from cell, to cell] -> (to - from) / (size - 1), the offsets agents observe.
        self._scaled_offsets = self._scaled_coords[None, :, :] - self._scaled_coords[:, None, :]
        self._inv_max_steps = np.float32(1.0 / config.max_steps)
        self._ones_column = np.ones((1, n, 1), dtype=np.float32)
        # Reward pieces as float32 lookups indexed by 0/1 flags.
        f32 = np.float32
        self._arrival_reward = np.array([0, config.target_reward], f32) - f32(config.step_cost)
        self._success_reward = np.array([0, config.team_bonus], f32)
        self._win_reward = f32(config.win_reward - config.step_cost)
        self._lose_reward = np.array([0, config.lose_reward], f32) - f32(config.step_cost)
        self.cells = np.zeros((num_envs, n), dtype=np.int64)
        self.target_cells = np.zeros((num_envs, k), dtype=np.int64)
        self.reached = np.zeros((num_envs, n), dtype=bool)
        self.steps = np.zeros(num_envs, dtype=np.int64)

    def _observation_bounds(self, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        targets_seen = k if self.cooperative else 1
        offsets = targets_seen + (n - 1) + (0 if self.cooperative else n - 1)
        low = [0.0, 0.0] + [-1.0] * (2 * offsets) + ([0.0] if self.cooperative else []) + [0.0]
        return np.array(low, dtype=np.float32), np.ones(len(low), dtype=np.float32)

    def _reset_copies(self, mask: np.ndarray) -> None:
        size, n, k = self.config.grid_size, self.config.num_agents, self.config.targets
        for e in np.flatnonzero(mask):
            cells = self._rngs[e].choice(size * size, size=k + n, replace=False)
            self.target_cells[e], self.cells[e] = cells[:k], cells[k:]
        self.reached[mask] = False
        self.steps[mask] = 0

    @property
    def positions(self) -> np.ndarray:
        """`[E, A, 2]` (row, col) of every agent; read-only (use `place` to move agents)."""
        return _read_only(self._coords[self.cells])

    @property
    def targets(self) -> np.ndarray:
        """`[E, K, 2]` (row, col) of every target; read-only."""
        return _read_only(self._coords[self.target_cells])

    def place(self, env_index: int, positions, targets) -> None:
        """Puts copy `env_index`'s agents and targets on given (row, col) cells (scenario
        tests, demos)."""
        weights = np.array([self.config.grid_size, 1])
        self.cells[env_index] = np.asarray(positions) @ weights
        self.target_cells[env_index] = np.asarray(targets) @ weights

    def baseline_actions(self, name: str = "shortest_path") -> np.ndarray:
        """`[E, A]` moves of a scripted player: `shortest_path` steps toward the agent's own
        target (competitive) or the nearest target (cooperative), along the longer axis
        first; it ignores the other agents."""
        check(name == "shortest_path", f"baseline {name!r}: allowed: shortest_path")
        cells, targets = self._coords[self.cells], self._coords[self.target_cells]
        if self.cooperative:  # nearest target by Manhattan distance
            dist = np.abs(cells[:, :, None] - targets[:, None]).sum(-1)  # [E, A, K]
            goal = np.take_along_axis(targets, dist.argmin(-1)[..., None], axis=1)
        else:
            goal = targets[:, : self.num_agents]
        offset = goal - cells  # [E, A, 2] (rows, cols)
        vertical = np.abs(offset[..., 0]) >= np.abs(offset[..., 1])
        row_move = np.where(offset[..., 0] < 0, 0, 1)  # up, down
        col_move = np.where(offset[..., 1] < 0, 2, 3)  # left, right
        moves = np.where(vertical, row_move, col_move)
        return np.where((offset == 0).all(-1), 4, moves).astype(np.int64)

    def _step(self, actions: np.ndarray):
        # ufunc.reduce instead of .any()/.all(): these arrays are tiny in single-copy use,
        # where numpy's call overhead, not arithmetic, sets the speed.
        cfg = self.config
        cells = self._next_cell[self.cells, actions]
        if cfg.collisions == "block":
            cells = resolve_blocking(self.cells, cells)
        self.cells = cells
        self.steps += 1
        infos = {}
        if self.cooperative:
            on_target = np.logical_or.reduce(
                cells[:, :, None] == self.target_cells[:, None, :], axis=2
            )
            first_arrival = on_target > self.reached
            self.reached |= on_target
            success = np.logical_and.reduce(on_target, axis=1)
            rewards = self._arrival_reward[first_arrival.view(np.int8)]
            rewards += self._success_reward[success.view(np.int8)][:, None]
        else:
            on_own = cells == self.target_cells  # target i belongs to agent i
            success = np.logical_or.reduce(on_own, axis=1)
            rewards = np.where(
                on_own, self._win_reward, self._lose_reward[success.view(np.int8)][:, None]
            )
            arrivals = on_own.sum(axis=1)
            infos["winner"] = np.where(arrivals == 1, on_own.argmax(axis=1), -1)
            infos["draw"] = arrivals > 1
            infos["win_share"] = on_own / np.maximum(arrivals, 1)[:, None]
        terminated = success[:, None] & self._every_agent
        truncated = (self.steps >= cfg.max_steps) > success
        truncated = truncated[:, None] & self._every_agent
        infos["success"] = success
        infos["episode_steps"] = self.steps.copy()
        return rewards, terminated, truncated, infos

    def _observe(self) -> np.ndarray:
        if self.config.observation == "image":
            return self._observe_image()
        e, n = self.cells.shape
        points = np.concatenate((self.target_cells, self.cells), axis=1)  # targets, agents
        parts = [
            self._scaled_coords[self.cells],
            self._scaled_offsets[self.cells[:, :, None], points[:, self._seen]].reshape(e, n, -1),
        ]
        if self.cooperative:
            parts.append(self.reached[:, :, None])
        parts.append((self.steps * self._inv_max_steps)[:, None, None] * self._ones_column)
        if self.config.action_mask:
            parts.append(self._move_mask[self.cells])
        return np.concatenate(parts, axis=2, dtype=np.float32)

    def _observe_image(self) -> np.ndarray:
        """`[E, A, 4 * size * size]`: the image planes, flattened (viewed as [4, size, size])."""
        e, n = self.cells.shape
        cells = self.config.grid_size**2
        planes = np.zeros((e, n, IMAGE_CHANNELS, cells), dtype=np.float32)
        rows, agents = np.arange(e)[:, None], np.arange(n)[None, :]
        planes[rows, agents, 0, self.cells] = 1.0
        occupied = np.zeros((e, cells), dtype=np.float32)
        np.add.at(occupied, (np.repeat(np.arange(e), n), self.cells.ravel()), 1.0)
        others = occupied[:, None, :] - planes[:, :, 0]  # everyone but the agent itself
        planes[:, :, 1] = np.minimum(others, 1.0)
        if self.cooperative:
            targets = np.zeros((e, cells), dtype=np.float32)
            targets[np.arange(e)[:, None], self.target_cells] = 1.0
            planes[:, :, 2] = targets[:, None, :]
        else:
            planes[rows, agents, 2, self.target_cells] = 1.0  # target i is agent i's
        planes[:, :, 3] = (self.steps * self._inv_max_steps)[:, None, None]
        obs = planes.reshape(e, n, -1)
        if self.config.action_mask:
            obs = np.concatenate([obs, self._move_mask[self.cells]], axis=2)
        return obs

    def state(self) -> np.ndarray:
        """Every agent's and target's (row, col) / (size - 1), the reached flags
        (cooperative) and the elapsed fraction: what a centralised critic needs."""
        e = self.num_envs
        parts = [
            self._scaled_coords[self.cells].reshape(e, -1),
            self._scaled_coords[self.target_cells].reshape(e, -1),
        ]
        if self.cooperative:
            parts.append(self.reached)
        parts.append((self.steps * self._inv_max_steps)[:, None])
        return np.concatenate(parts, axis=1, dtype=np.float32)

    @functools.cached_property
    def state_space(self) -> gym.spaces.Box:
        n, k = self.config.num_agents, self.config.targets
        size = 2 * (n + k) + (n if self.cooperative else 0) + 1
        return gym.spaces.Box(0.0, 1.0, (size,), dtype=np.float32)

    def observation_view(self, obs: np.ndarray, agent: int = 0):
        main = obs[..., : self._obs_size]
        if self.config.observation == "image":
            size = self.config.grid_size
            main = main.reshape(*obs.shape[:-1], IMAGE_CHANNELS, size, size)
        if not self.config.action_mask:
            return main
        # int8 masks: PettingZoo's convention (its samplers take int8 masks).
        return {"observations": main, "action_mask": obs[..., self._obs_size :].astype(np.int8)}

    def render(self, env_index: int = 0, cell: int = 32) -> np.ndarray:
        size = self.config.grid_size
        frame = np.full((size * cell, size * cell, 3), 255, dtype=np.uint8)
        frame[::cell, :] = frame[:, ::cell] = 200
        frame[-1, :] = frame[:, -1] = 200
        for k, (r, c) in enumerate(self.targets[env_index]):
            colour = (
                np.array([255, 200, 0], np.uint8)
                if self.cooperative
                else (AGENT_COLOURS[k % len(AGENT_COLOURS)] // 2 + 127)
            )
            frame[r * cell + 3 : (r + 1) * cell - 2, c * cell + 3 : (c + 1) * cell - 2] = colour
        yy, xx = np.mgrid[0:cell, 0:cell]
        positions = self.positions[env_index]
        for i, (r, c) in enumerate(positions):
            # Agents sharing a cell are drawn smaller, side by side, so all stay visible.
            shared = np.flatnonzero(np.all(positions == (r, c), axis=1))
            slot, count = int(np.flatnonzero(shared == i)[0]), len(shared)
            radius = cell * (0.35 if count == 1 else 0.2)
            cx = cell / 2 if count == 1 else cell * (slot + 0.5) / count
            disc = (yy - cell / 2) ** 2 + (xx - cx) ** 2 <= radius**2
            block = frame[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell]
            block[disc] = AGENT_COLOURS[i % len(AGENT_COLOURS)]
        return frame


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def resolve_blocking(current: np.ndarray, proposed: np.ndarray) -> np.ndarray:
    """Cancels moves ending in a shared cell or swapping two agents, to a fixed point.

    `current` and `proposed` are `[E, A]` cell ids; returns the resolved `[E, A]` cells.
    """
    n = current.shape[1]
    not_self = ~np.eye(n, dtype=bool)
    resolved = proposed.copy()
    for _ in range(n):
        moved = resolved != current
        same_cell = (resolved[:, :, None] == resolved[:, None]) & not_self
        swap = (resolved[:, :, None] == current[:, None]) & (
            resolved[:, None] == current[:, :, None]
        )
        blocked = ((same_cell | (swap & not_self)).any(axis=-1)) & moved
        if not blocked.any():
            break
        resolved[blocked] = current[blocked]
    return resolved
