"""Players that pick a move for a position: random, perfect (minimax), and MCTS (pure with
random rollouts, or guided by a network). `play_match` pits two of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from envs.board_games import Game, State
from envs.schema import ConfigError
from marl_ray.algorithms.alphazero.evaluators import RolloutEvaluator
from marl_ray.algorithms.alphazero.mcts import MCTS, Evaluator, Node, SearchConfig
from marl_ray.algorithms.alphazero.minimax import Solver

OPPONENTS = "random, minimax (tic-tac-toe only) or mcts:N (pure MCTS, N rollouts per move)"


class Player(Protocol):
    name: str

    def reset(self) -> None:
        """Forget the previous game."""

    def move(self, state: State) -> int:
        """The action to play in `state` (the player to move's turn)."""


class RandomPlayer:
    name = "random"

    def __init__(self, game: Game, rng: np.random.Generator):
        self.game, self.rng = game, rng

    def reset(self) -> None:
        pass

    def move(self, state: State) -> int:
        legal = self.game.legal_actions(state)
        return legal[int(self.rng.integers(len(legal)))]


class MinimaxPlayer:
    """Perfect play; a uniformly random choice among the best moves."""

    name = "minimax"

    def __init__(self, game: Game, rng: np.random.Generator):
        self.solver, self.rng = Solver(game), rng

    def reset(self) -> None:
        pass

    def move(self, state: State) -> int:
        best = self.solver.best_actions(state)
        return best[int(self.rng.integers(len(best)))]


class MCTSPlayer:
    """Searches from each position it is asked about, reusing the subtree of the moves played
    since its last search. Temperature 1 for its first `temperature_moves` plies of the game
    (variety in evaluation games), then the most visited move."""

    def __init__(
        self,
        game: Game,
        search: SearchConfig,
        evaluator: Evaluator,
        rng: np.random.Generator,
        name: str = "mcts",
        temperature_moves: int = 0,
    ):
        self.game, self.evaluator, self.name = game, evaluator, name
        self.mcts = MCTS(game, search, rng)
        self.temperature_moves = temperature_moves
        self.root: Node | None = None

    def reset(self) -> None:
        self.root = None

    def move(self, state: State) -> int:
        root = self._reused_root(state)
        self.mcts.search([root], self.evaluator)
        temperature = 1.0 if state.moves < self.temperature_moves else 0.0
        action = self.mcts.choose(root, temperature)
        self.root = self.mcts.advance(root, action)
        return action

    def _reused_root(self, state: State) -> Node:
        """The node for `state` in the kept tree (the opponent's reply below our last move)."""
        node = self.root
        if node is not None and node.state != state and node.expanded:
            node = next((c for c in node.children if c is not None and c.state == state), None)
        if node is None or node.state != state:
            return self.mcts.new_root(state)
        node.root_prior = None
        return node


def rollout_mcts_player(game: Game, simulations: int, rng: np.random.Generator) -> MCTSPlayer:
    """Pure MCTS: UCT selection, leaves valued by one random playout each."""
    search = SearchConfig(num_simulations=simulations, selection="ucb1", leaf_batch=1)
    return MCTSPlayer(game, search, RolloutEvaluator(game, rng), rng, name=f"mcts:{simulations}")


def make_opponent(spec: str, game: Game, rng: np.random.Generator) -> Player:
    """'random', 'minimax' or 'mcts:N'."""
    if spec == "random":
        return RandomPlayer(game, rng)
    if spec == "minimax":
        if game.name != "tictactoe":
            raise ConfigError(f"the minimax opponent solves tic-tac-toe only, not {game.name}")
        return MinimaxPlayer(game, rng)
    kind, _, count = spec.partition(":")
    if kind == "mcts" and count.isdigit() and int(count) >= 1:
        return rollout_mcts_player(game, int(count), rng)
    raise ConfigError(f"unknown opponent {spec!r}; use {OPPONENTS}")


@dataclass(frozen=True)
class MatchResult:
    """Results for the first player named in `play_match`."""

    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """(wins + draws / 2) / games."""
        return (self.wins + 0.5 * self.draws) / max(self.games, 1)

    def to_dict(self) -> dict[str, float]:
        return {
            "wins": self.wins,
            "draws": self.draws,
            "losses": self.losses,
            "score": self.score,
            "win_rate": self.wins / max(self.games, 1),
        }


def play_game(game: Game, first: Player, second: Player) -> tuple[float, int]:
    """(result for `first`: 1, 0 or -1; plies played)."""
    players = (first, second)
    for player in players:
        player.reset()
    state = game.initial_state()
    while (outcome := game.outcome(state)) is None:
        state = game.apply(state, players[state.player].move(state))
    # `outcome` is for the player to move now, who did not make the last move.
    return (outcome if state.player == 0 else -outcome), state.moves


def play_sides(
    game: Game, player: Player, opponent: Player, games: int
) -> tuple[MatchResult, MatchResult]:
    """`games` games, `player` moving first in the even-numbered ones (half, rounded up);
    its results when moving first and when moving second."""
    tally = {True: [0, 0, 0], False: [0, 0, 0]}  # first? -> wins, draws, losses
    for g in range(games):
        first = g % 2 == 0
        result, _ = (
            play_game(game, player, opponent) if first else play_game(game, opponent, player)
        )
        result = result if first else -result
        tally[first][0 if result > 0 else (1 if result == 0 else 2)] += 1
    return MatchResult(*tally[True]), MatchResult(*tally[False])


def play_match(game: Game, player: Player, opponent: Player, games: int) -> MatchResult:
    """`play_sides`, both sides summed."""
    first, second = play_sides(game, player, opponent, games)
    return MatchResult(
        first.wins + second.wins, first.draws + second.draws, first.losses + second.losses
    )
