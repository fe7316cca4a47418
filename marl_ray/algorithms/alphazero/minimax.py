"""Exact game values by negamax with memoisation: a perfect player for small games
(tic-tac-toe has 5,478 reachable positions)."""

from __future__ import annotations

from functools import lru_cache

from envs.board_games import Game, State


class Solver:
    def __init__(self, game: Game):
        self.game = game
        self.value = lru_cache(maxsize=None)(self._value)

    def _value(self, state: State) -> int:
        """+1 win, 0 draw, -1 loss for the player to move under perfect play."""
        outcome = self.game.outcome(state)
        if outcome is not None:
            return int(outcome)
        return max(
            -self.value(self.game.apply_legal(state, a)) for a in self.game.legal_actions(state)
        )

    def action_values(self, state: State) -> dict[int, int]:
        """Each legal move's value for the player making it."""
        return {
            a: -self.value(self.game.apply_legal(state, a)) for a in self.game.legal_actions(state)
        }

    def best_actions(self, state: State) -> list[int]:
        values = self.action_values(state)
        best = max(values.values())
        return [a for a, v in values.items() if v == best]
