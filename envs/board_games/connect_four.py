"""Connect Four: stones drop to the lowest free cell of a column; `connect` in a row
(horizontally, vertically or diagonally) wins. Action c drops a stone in column c.

Bitboard layout: column c uses bits c*(rows+1) ... c*(rows+1)+rows-1 from the bottom up, and
one always-empty bit above it, so shifted lines never wrap into the next column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.board_games.game import Game, State
from envs.schema import check


@dataclass(frozen=True)
class ConnectFourConfig:
    rows: int = 6
    columns: int = 7
    connect: int = 4
    """Stones in a row that win."""

    def __post_init__(self) -> None:
        check(4 <= self.rows <= 8, f"env.config.rows must be in [4, 8], got {self.rows}")
        check(4 <= self.columns <= 7, f"env.config.columns must be in [4, 7], got {self.columns}")
        check(
            3 <= self.connect <= min(self.rows, self.columns),
            f"env.config.connect must be in [3, min(rows, columns)], got {self.connect}",
        )


class ConnectFour(Game):
    name = "connect4"
    config_class = ConnectFourConfig

    def __init__(self, config: ConnectFourConfig | None = None):
        self.config = config or ConnectFourConfig()
        self.rows, self.columns = self.config.rows, self.config.columns
        self.num_actions = self.columns
        height = self.rows + 1
        self._bottom = [1 << (c * height) for c in range(self.columns)]
        self._top = [1 << (c * height + self.rows - 1) for c in range(self.columns)]
        self._shifts = (1, height, height - 1, height + 1)  # |, -, \, /
        self._bits = np.array(
            [
                [c * height + (self.rows - 1 - r) for c in range(self.columns)]
                for r in range(self.rows)
            ]
        )

    def initial_state(self) -> State:
        return State(0, 0)

    def legal_actions(self, state: State) -> list[int]:
        if state.won:
            return []
        mask = state.current | state.opponent
        return [c for c in range(self.columns) if not mask & self._top[c]]

    def is_legal(self, state: State, action: int) -> bool:
        return (
            0 <= action < self.columns
            and not state.won
            and not (state.current | state.opponent) & self._top[action]
        )

    def apply_legal(self, state: State, action: int) -> State:
        mask = state.current | state.opponent
        stones = state.current | ((mask + self._bottom[action]) & ~mask)
        return State(state.opponent, stones, state.moves + 1, self._wins(stones))

    def _wins(self, stones: int) -> bool:
        for shift in self._shifts:
            run = stones
            for k in range(1, self.config.connect):
                run &= stones >> (k * shift)
            if run:
                return True
        return False

    def cell_bits(self) -> np.ndarray:
        return self._bits

    def symmetries(self, planes, policy):
        return [(planes, policy), (planes[..., ::-1].copy(), policy[..., ::-1].copy())]
