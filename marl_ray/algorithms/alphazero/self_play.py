"""Self-play: several games played in lockstep by one MCTS, every game's leaves evaluated in
one batch. Each position is stored with the root's visit distribution and, once the game
ends, its result for the player who was to move there."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from envs.board_games import Game, State
from marl_ray.algorithms.alphazero.mcts import MCTS, Evaluator, SearchConfig
from marl_ray.algorithms.alphazero.replay import Positions


@dataclass(frozen=True)
class SelfPlayStats:
    games: int
    moves: int
    simulations: int
    seconds: float
    first_player_results: list[float]
    """Per game: +1 the first player won, -1 the second, 0 draw."""
    lengths: list[int]


def game_positions(game: Game, states: list[State], policies: list[np.ndarray], final: State):
    """Training targets of one finished game: z = the result for each position's mover."""
    outcome = game.outcome(final)  # for the player to move in `final`
    values = np.array([outcome if s.player == final.player else -outcome for s in states])
    return Positions(
        game.encode_batch(states).astype(np.uint8),
        np.array(policies, dtype=np.float32),
        values.astype(np.float32),
    )


class SelfPlay:
    def __init__(
        self,
        game: Game,
        search: SearchConfig,
        temperature_moves: int,
        parallel_games: int,
        rng: np.random.Generator,
    ):
        self.game, self.rng = game, rng
        self.mcts = MCTS(game, search, rng)
        self.temperature_moves = temperature_moves
        self.parallel_games = parallel_games

    def play(self, games: int, evaluator: Evaluator) -> tuple[Positions, SelfPlayStats]:
        """Plays `games` games, `parallel_games` at a time."""
        start = time.perf_counter()
        game, mcts = self.game, self.mcts
        chunks: list[Positions] = []
        results, lengths, simulations = [], [], 0
        started = 0
        active: list[dict] = []
        while started < games or active:
            while started < games and len(active) < self.parallel_games:
                root = mcts.new_root(game.initial_state())
                active.append({"root": root, "states": [], "policies": []})
                started += 1
            mcts.search([g["root"] for g in active], evaluator, noise=True)
            simulations += len(active) * mcts.config.num_simulations
            still = []
            for g in active:
                root = g["root"]
                g["states"].append(root.state)
                g["policies"].append(mcts.visit_policy(root, 1.0))
                temperature = 1.0 if root.state.moves < self.temperature_moves else 0.0
                g["root"] = mcts.advance(root, mcts.choose(root, temperature))
                final = g["root"].state
                if g["root"].terminal_value is None:
                    still.append(g)
                    continue
                chunks.append(game_positions(game, g["states"], g["policies"], final))
                first = game.outcome(final) * (1 if final.player == 0 else -1)
                results.append(float(first))
                lengths.append(final.moves)
            active = still
        positions = Positions(*(np.concatenate(parts) for parts in zip(*chunks, strict=True)))
        stats = SelfPlayStats(
            games, sum(lengths), simulations, time.perf_counter() - start, results, lengths
        )
        return positions, stats
