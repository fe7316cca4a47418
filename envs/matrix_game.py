"""Repeated n-player matrix games: every round each player picks an action and receives its
own payoff for the joint action (a true payoff per player, not one shared matrix).

- `game`: prisoners_dilemma, coordination, stag_hunt, matching_pennies, chicken (2 players,
  actions in the order listed in `GAMES`), or `custom` with `payoffs` of shape
  `[n_1, ..., n_N, N]` (players may have different numbers of actions).
- An episode is `num_rounds` rounds; it terminates after the last one.
- Reward: the player's payoff times `reward_scale`.
- Observation of player i: the previous joint action, one-hot per player with player i's own
  action first and the others in index order after i (all zeros in the first round), then
  a first-round flag and the elapsed fraction of the episode.
- Infos per copy and step: `welfare` (sum of payoffs), `nash` (the joint action is a pure
  Nash equilibrium), `pareto` (it is Pareto optimal), `social_optimum`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from envs import game_theory
from envs.core import BatchedEnv
from envs.schema import check

# payoffs[row action][column action] = (row payoff, column payoff); actions named in order.
GAMES: dict[str, tuple[tuple[str, ...], list]] = {
    "prisoners_dilemma": (("cooperate", "defect"), [[[3, 3], [0, 5]], [[5, 0], [1, 1]]]),
    "coordination": (("a", "b"), [[[2, 2], [0, 0]], [[0, 0], [1, 1]]]),
    "stag_hunt": (("stag", "hare"), [[[4, 4], [0, 3]], [[3, 0], [2, 2]]]),
    "matching_pennies": (("heads", "tails"), [[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]]),
    "chicken": (("swerve", "straight"), [[[0, 0], [-1, 1]], [[1, -1], [-10, -10]]]),
}


@dataclass(frozen=True)
class MatrixGameConfig:
    """Matrix game parameters (see the module docstring)."""

    game: Literal[
        "prisoners_dilemma", "coordination", "stag_hunt", "matching_pennies", "chicken", "custom"
    ] = "prisoners_dilemma"
    payoffs: Any = None
    """Only with game: custom: nested lists of shape [n_1, ..., n_N, N]."""
    num_rounds: int = 10
    reward_scale: float = 1.0

    def __post_init__(self) -> None:
        check(self.num_rounds >= 1, f"num_rounds must be >= 1, got {self.num_rounds}")
        if self.game == "custom":
            check(self.payoffs is not None, "game: custom needs payoffs of shape [n_1..n_N, N]")
            try:
                p = game_theory.check_payoffs(self.payoffs)
            except (ValueError, TypeError) as exc:
                check(False, f"payoffs: {exc}")
            check(game_theory.num_players(p) >= 2, "a matrix game needs at least 2 players")
        else:
            check(
                self.payoffs is None,
                f"payoffs are set by game: {self.game}; use game: custom for your own",
            )

    def payoff_tensor(self) -> np.ndarray:
        if self.game == "custom":
            return game_theory.check_payoffs(self.payoffs)
        return game_theory.check_payoffs(GAMES[self.game][1])


class MatrixGame(BatchedEnv):
    """Batched repeated matrix game; see the module docstring."""

    name = "matrix_game"
    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}
    config_class = MatrixGameConfig

    def __init__(
        self,
        num_envs: int = 1,
        config: MatrixGameConfig | None = None,
        render_mode: str | None = None,
    ):
        super().__init__(num_envs, render_mode)
        self.config = config = config or MatrixGameConfig()
        payoffs = config.payoff_tensor()
        self.payoffs = payoffs
        self.actions_per_player = payoffs.shape[:-1]
        n = len(self.actions_per_player)
        self.possible_agents = tuple(f"player_{i}" for i in range(n))
        self.action_spaces = {
            a: gym.spaces.Discrete(k)
            for a, k in zip(self.possible_agents, self.actions_per_player, strict=True)
        }
        # Player i sees players i, i+1, ... (mod n): column offsets of each one-hot block.
        self._order = np.array([[(i + j) % n for j in range(n)] for i in range(n)])
        offsets = np.concatenate([[0], np.cumsum(self.actions_per_player)])
        widths = np.array(self.actions_per_player)
        self._block_start = np.zeros((n, n), dtype=np.int64)  # [observer, player] -> column
        for i in range(n):
            start = 0
            for j in self._order[i]:
                self._block_start[i, j] = start
                start += widths[j]
        self._one_hot_width = int(offsets[-1])
        obs_size = self._one_hot_width + 2
        space = gym.spaces.Box(0.0, 1.0, (obs_size,), dtype=np.float32)
        self.observation_spaces = {a: space for a in self.possible_agents}
        self._flat_rewards = (payoffs * config.reward_scale).reshape(-1, n).astype(np.float32)
        self._flat_welfare = payoffs.sum(axis=-1).reshape(-1)
        self._flat_nash = game_theory.best_response_mask(payoffs).all(axis=-1).reshape(-1)
        self._flat_pareto = game_theory.pareto_optimal_mask(payoffs).reshape(-1)
        total = payoffs.sum(axis=-1)
        self._flat_social = np.isclose(total, total.max()).reshape(-1)
        self._strides = np.array(
            [int(np.prod(self.actions_per_player[j + 1 :])) for j in range(n)], dtype=np.int64
        )
        self.last_actions = np.full((num_envs, n), -1, dtype=np.int64)
        self.rounds = np.zeros(num_envs, dtype=np.int64)

    def _reset_copies(self, mask: np.ndarray) -> None:
        self.last_actions[mask] = -1
        self.rounds[mask] = 0

    def _step(self, actions: np.ndarray):
        n = self.num_agents
        joint = actions @ self._strides  # flat index of the joint action, [E]
        rewards = self._flat_rewards[joint]
        self.last_actions[:] = actions
        self.rounds += 1
        over = self.rounds >= self.config.num_rounds
        terminated = np.repeat(over[:, None], n, axis=1)
        truncated = np.zeros_like(terminated)
        infos = {
            "welfare": self._flat_welfare[joint].astype(np.float32),
            "nash": self._flat_nash[joint],
            "pareto": self._flat_pareto[joint],
            "social_optimum": self._flat_social[joint],
        }
        return rewards, terminated, truncated, infos

    def _observe(self) -> np.ndarray:
        e_count, n = self.num_envs, self.num_agents
        obs = np.zeros((e_count, n, self._one_hot_width + 2), dtype=np.float32)
        played = self.last_actions >= 0  # [E] rows are all-or-none
        rows = np.flatnonzero(played[:, 0])
        if rows.size:
            # Column of player j's action in observer i's vector: block start + action.
            cols = self._block_start[None, :, :] + self.last_actions[rows][:, None, :]
            e_idx = np.repeat(rows, n * n)
            i_idx = np.tile(np.repeat(np.arange(n), n), rows.size)
            obs[e_idx, i_idx, cols.reshape(-1)] = 1.0
        obs[:, :, -2] = (~played[:, 0]).astype(np.float32)[:, None]
        obs[:, :, -1] = (self.rounds / self.config.num_rounds).astype(np.float32)[:, None]
        return obs

    def render(self, env_index: int = 0) -> np.ndarray:
        """One row per player (its colour on the left), one cell per action; the action just
        played is filled (green when the joint action is a Nash equilibrium, else orange)."""
        from envs.grid_world import AGENT_COLOURS

        cell, n, label = 32, self.num_agents, 8
        width = max(self.actions_per_player)
        frame = np.full((n * cell, label + width * cell, 3), 255, dtype=np.uint8)
        for i in range(n):
            frame[i * cell : (i + 1) * cell, :label] = AGENT_COLOURS[i % len(AGENT_COLOURS)]
        last = self.last_actions[env_index]
        nash = last[0] >= 0 and bool(self._flat_nash[int(last @ self._strides)])
        colour = np.array([42, 157, 60] if nash else [244, 162, 39], dtype=np.uint8)
        for i, k in enumerate(self.actions_per_player):
            for a in range(k):
                x = label + a * cell
                block = frame[i * cell + 2 : (i + 1) * cell - 2, x + 2 : x + cell - 2]
                block[:] = colour if a == last[i] else np.array([200, 200, 200], np.uint8)
        return frame
