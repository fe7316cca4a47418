"""The turn-based game interface AlphaZero, its baselines and the AEC adapter share.

A `State` is immutable and seen from the player to move: `current` holds that player's stones
and `opponent` the other's, both as bitboards (Python ints), so applying a move, checking a win
and hashing a position are a few integer operations. `moves` counts plies played; player
`moves % 2` is to move (player 0 moved first). `won` says the player who just moved won.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

NUM_PLANES = 3
"""Encoding planes: the mover's stones, the opponent's stones, all ones when player 0 moves."""

_COLOURS = np.array([[235, 235, 235], [200, 40, 40], [240, 200, 30]], dtype=np.uint8)
"""Empty, player 0, player 1."""


class IllegalMoveError(ValueError):
    """A move that the position does not allow."""


@dataclass(frozen=True, slots=True)
class State:
    current: int
    opponent: int
    moves: int = 0
    won: bool = False

    @property
    def player(self) -> int:
        """The player to move: 0 moved first, 1 second."""
        return self.moves % 2


class Game(abc.ABC):
    """One board game: rules over `State`s, and their tensor view for networks."""

    name: ClassVar[str]
    rows: int
    columns: int
    num_actions: int

    @abc.abstractmethod
    def initial_state(self) -> State: ...

    @abc.abstractmethod
    def legal_actions(self, state: State) -> list[int]:
        """Legal action ids in increasing order (empty when the game is over)."""

    @abc.abstractmethod
    def is_legal(self, state: State, action: int) -> bool: ...

    @abc.abstractmethod
    def apply_legal(self, state: State, action: int) -> State:
        """The position after a move already known to be legal (search and rollouts)."""

    def apply(self, state: State, action: int) -> State:
        """The position after the player to move plays `action`; raises `IllegalMoveError`."""
        if not isinstance(action, int | np.integer) or not self.is_legal(state, int(action)):
            raise IllegalMoveError(
                f"{self.name}: action {action!r} is not legal here; legal actions: "
                f"{self.legal_actions(state)}"
            )
        return self.apply_legal(state, int(action))

    @abc.abstractmethod
    def cell_bits(self) -> np.ndarray:
        """[rows, columns] bit index of each board cell, row 0 at the top."""

    @abc.abstractmethod
    def symmetries(self, planes: np.ndarray, policy: np.ndarray) -> list[tuple]:
        """Every symmetric copy (the identity first) of encoded `planes` [..., C, rows, cols]
        with its `policy` [..., num_actions] permuted to match."""

    def legal_mask(self, state: State) -> np.ndarray:
        mask = np.zeros(self.num_actions, dtype=bool)
        mask[self.legal_actions(state)] = True
        return mask

    def is_full(self, state: State) -> bool:
        return not self.legal_actions(state)

    def outcome(self, state: State) -> float | None:
        """None while the game runs; else the result for the player to move:
        -1 (the opponent just won) or 0 (draw). A player never moves into its own loss."""
        if state.won:
            return -1.0
        if self.is_full(state):
            return 0.0
        return None

    def play(self, actions: list[int] | str) -> State:
        """The position after `actions` from the start ("0 4 8" or [0, 4, 8])."""
        if isinstance(actions, str):
            actions = [int(a) for a in actions.split()]
        state = self.initial_state()
        for action in actions:
            if self.outcome(state) is not None:
                raise IllegalMoveError(f"{self.name}: move {action} after the game ended")
            state = self.apply(state, action)
        return state

    def encode(self, state: State) -> np.ndarray:
        """[NUM_PLANES, rows, columns] float32 planes from the mover's point of view."""
        return self.encode_batch([state])[0]

    def encode_batch(self, states: list[State]) -> np.ndarray:
        bits = self.cell_bits()
        n = len(states)
        boards = np.array([(s.current, s.opponent) for s in states], dtype=np.int64).reshape(
            n, 2, 1, 1
        )
        planes = np.empty((n, NUM_PLANES, self.rows, self.columns), dtype=np.float32)
        planes[:, :2] = (boards >> bits) & 1
        planes[:, 2] = np.array([s.player == 0 for s in states], dtype=np.float32)[:, None, None]
        return planes

    def board(self, state: State) -> np.ndarray:
        """[rows, columns] int8: 1 for player 0's stones, 2 for player 1's, 0 empty."""
        planes = self.encode(state)
        first, second = (planes[0], planes[1]) if state.player == 0 else (planes[1], planes[0])
        return (first + 2 * second).astype(np.int8)

    def picture(self, state: State, cell: int = 32) -> np.ndarray:
        """[rows * cell, columns * cell, 3] uint8 top-down image of the board."""
        return np.kron(_COLOURS[self.board(state)], np.ones((cell, cell, 1), dtype=np.uint8))

    def render_text(self, state: State) -> str:
        marks = np.array([".", "X", "O"])
        return "\n".join(" ".join(row) for row in marks[self.board(state)])
