"""An AlphaZero checkpoint as a player, and its match record against a baseline player.

`load_player(checkpoint)` gives an `MCTSPlayer` whose `move(state)` picks the move for a
position of `player.game`; `evaluate_alphazero` plays it against random, minimax or pure MCTS,
half of the games with each side starting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs.board_games import make_game
from envs.schema import ConfigError
from marl_ray.algorithms.alphazero.config import alphazero_config
from marl_ray.algorithms.alphazero.evaluators import network_evaluator
from marl_ray.algorithms.alphazero.players import MCTSPlayer, make_opponent, play_sides
from marl_ray.algorithms.checkpoint import load_state
from marl_ray.evaluate import CheckpointError, checkpoint_experiment, write_gif

SIDES = ("wins", "draws", "losses")


def load_player(
    checkpoint: str | Path, simulations: int | None = None, seed: int = 0
) -> MCTSPlayer:
    """The checkpoint's best network searching `simulations` per move (default: the
    experiment's evaluation setting), most visited move, tree reused between moves."""
    exp, ckpt = checkpoint_experiment(checkpoint)
    if exp.algorithm != "ALPHAZERO":
        raise CheckpointError(f"{ckpt} holds a {exp.algorithm} checkpoint, not ALPHAZERO")
    config = alphazero_config(exp)
    if simulations is not None and simulations < 1:
        raise ConfigError(f"--simulations must be >= 1, got {simulations}")
    search = config.search(evaluation=True)
    if simulations:
        search = dataclasses.replace(search, num_simulations=simulations)
    weights = load_state(ckpt)["policy_weights"]
    evaluator = network_evaluator(config.env, config.env_config, config.network, weights)
    game = make_game(config.env, config.env_config)
    return MCTSPlayer(game, search, evaluator, np.random.default_rng(seed), name="alphazero")


@dataclass(frozen=True)
class MatchEvaluation:
    algorithm: str
    env: str
    checkpoint: str
    opponent: str
    simulations: int
    games: int
    wins: int
    draws: int
    losses: int
    score: float
    """(wins + draws / 2) / games."""
    as_first: dict[str, int]
    as_second: dict[str, int]
    render: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def evaluate_alphazero(
    checkpoint: str | Path,
    opponent: str = "random",
    games: int = 100,
    *,
    simulations: int | None = None,
    seed: int = 12345,
    render: str | Path | None = None,
) -> MatchEvaluation:
    if games < 2:
        raise ConfigError(f"--episodes must be >= 2 (half with each side starting), got {games}")
    player = load_player(checkpoint, simulations, seed)
    game = player.game
    rival = make_opponent(opponent, game, np.random.default_rng(seed + 1))
    first, second = play_sides(game, player, rival, games)
    wins, draws, losses = (getattr(first, k) + getattr(second, k) for k in SIDES)
    render_path = str(_render_game(game, player, rival, Path(render))) if render else None
    return MatchEvaluation(
        algorithm="ALPHAZERO",
        env=game.name,
        checkpoint=str(checkpoint),
        opponent=opponent,
        simulations=player.mcts.config.num_simulations,
        games=games,
        wins=wins,
        draws=draws,
        losses=losses,
        score=(wins + 0.5 * draws) / games,
        as_first={k: getattr(first, k) for k in SIDES},
        as_second={k: getattr(second, k) for k in SIDES},
        render=render_path,
    )


def _render_game(game, player, rival, path: Path) -> Path:
    """A GIF of one game, the checkpoint moving first."""
    player.reset()
    rival.reset()
    state = game.initial_state()
    frames = [game.picture(state)]
    while game.outcome(state) is None:
        mover = player if state.player == 0 else rival
        state = game.apply(state, mover.move(state))
        frames.append(game.picture(state))
    frames += [frames[-1]] * 3  # linger on the final position
    return write_gif(frames, path, fps=2)
