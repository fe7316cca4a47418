"""Learning check for AlphaZero on tic-tac-toe (tune_configs/alphazero_tictactoe.yaml, at most
10 minutes of training on 2 cores), then 100 games against the perfect minimax player, 50 with
each side starting, 100 simulations per move. Target: no loss.
Prints one JSON line last: {"train_wall_s", "wins", "draws", "losses", ...}.
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
    parser.add_argument("--train-seconds", type=float, default=300.0)
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--simulations", type=int, default=100)
    args = parser.parse_args()
    if args.train_seconds > 600:
        parser.error("the target is within 10 minutes of training: --train-seconds <= 600")
    connect(None, num_cpus=2)
    storage = tempfile.mkdtemp(prefix="alphazero_tictactoe_")
    exp = load_experiment(
        ROOT / "tune_configs" / "alphazero_tictactoe.yaml",
        [f"stop.time_total_s={args.train_seconds}", f"storage_path={storage}"],
    )
    summary = run_experiment(exp, verbose=0)
    match = evaluate_alphazero(
        summary.checkpoint, "minimax", args.games, simulations=args.simulations, seed=2024
    )
    print(
        json.dumps(
            {
                "train_wall_s": summary.wall_s,
                "wins": match.wins,
                "draws": match.draws,
                "losses": match.losses,
                "as_first": match.as_first,
                "as_second": match.as_second,
                "simulations_per_move": match.simulations,
                "training_iterations": summary.training_iterations,
                "self_play_moves": summary.timesteps,
                "target_met": match.losses == 0,
            }
        )
    )


if __name__ == "__main__":
    main()
