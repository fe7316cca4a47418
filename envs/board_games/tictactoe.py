"""Tic-tac-toe on a 3x3 board; action r*3+c places a stone on row r, column c."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.board_games.game import Game, State

_FULL = 0x1FF
_LINES = tuple(
    sum(1 << (r * 3 + c) for r, c in cells)
    for cells in (
        *[[(r, c) for c in range(3)] for r in range(3)],
        *[[(r, c) for r in range(3)] for c in range(3)],
        [(i, i) for i in range(3)],
        [(i, 2 - i) for i in range(3)],
    )
)
_CELLS = np.arange(9).reshape(3, 3)
# The eight board symmetries as permutations of the 9 cells: new[cell] = old[perm[cell]].
_PERMS = [
    np.ascontiguousarray(t).reshape(-1)
    for k in range(4)
    for t in (np.rot90(_CELLS, k), np.fliplr(np.rot90(_CELLS, k)))
]


@dataclass(frozen=True)
class TicTacToeConfig:
    """Tic-tac-toe has no settings."""


class TicTacToe(Game):
    name = "tictactoe"
    config_class = TicTacToeConfig
    rows = columns = 3
    num_actions = 9

    def __init__(self, config: TicTacToeConfig | None = None):
        self.config = config or TicTacToeConfig()

    def initial_state(self) -> State:
        return State(0, 0)

    def legal_actions(self, state: State) -> list[int]:
        if state.won:
            return []
        free = ~(state.current | state.opponent) & _FULL
        return [a for a in range(9) if free >> a & 1]

    def is_legal(self, state: State, action: int) -> bool:
        return (
            0 <= action < 9 and not state.won and not (state.current | state.opponent) >> action & 1
        )

    def apply_legal(self, state: State, action: int) -> State:
        stones = state.current | (1 << action)
        won = any(stones & line == line for line in _LINES)
        return State(state.opponent, stones, state.moves + 1, won)

    def cell_bits(self) -> np.ndarray:
        return _CELLS

    def symmetries(self, planes, policy):
        flat_planes = planes.reshape(*planes.shape[:-2], 9)
        return [(flat_planes[..., p].reshape(planes.shape), policy[..., p]) for p in _PERMS]
