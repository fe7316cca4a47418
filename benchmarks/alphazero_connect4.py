"""Learning check for AlphaZero on Connect Four (tune_configs/alphazero_connect4.yaml, at
most 60 minutes of training on 2 cores), then games against pure MCTS with 500 random
rollouts per move, half with each side starting. Target: win rate >= 0.8.
Prints one JSON line last: {"train_wall_s", "win_rate", ...}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from marl_ray.algorithms.alphazero.evaluation import evaluate_alphazero
from marl_ray.config import load_experiment
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # Tune stops after the iteration that crosses the limit (~30 s each): 3540 s keeps the
    # last one inside the hour.
    parser.add_argument("--train-seconds", type=float, default=3540.0)
    parser.add_argument("--games", type=int, default=50)
    parser.add_argument("--simulations", type=int, default=400)
    parser.add_argument("--rollouts", type=int, default=500)
    parser.add_argument("--checkpoint", help="evaluate this checkpoint instead of training")
    args = parser.parse_args()
    if args.train_seconds > 3540:
        parser.error("the target is within 60 minutes of training: --train-seconds <= 3540")
    checkpoint, wall, iterations, moves = args.checkpoint, None, None, None
    if checkpoint is None:
        connect(None, num_cpus=2)
        storage = tempfile.mkdtemp(prefix="alphazero_connect4_")
        exp = load_experiment(
            ROOT / "tune_configs" / "alphazero_connect4.yaml",
            [f"stop.time_total_s={args.train_seconds}", f"storage_path={storage}"],
        )
        summary = run_experiment(exp, verbose=0)
        checkpoint, wall = summary.checkpoint, summary.wall_s
        iterations, moves = summary.training_iterations, summary.timesteps
    match = evaluate_alphazero(
        checkpoint, f"mcts:{args.rollouts}", args.games, simulations=args.simulations, seed=2024
    )
    print(
        json.dumps(
            {
                "train_wall_s": wall,
                "win_rate": match.wins / match.games,
                "wins": match.wins,
                "draws": match.draws,
                "losses": match.losses,
                "as_first": match.as_first,
                "as_second": match.as_second,
                "simulations_per_move": match.simulations,
                "opponent": match.opponent,
                "training_iterations": iterations,
                "self_play_moves": moves,
                "checkpoint": checkpoint,
                "target_met": match.wins / match.games >= 0.8,
            }
        )
    )


if __name__ == "__main__":
    main()
