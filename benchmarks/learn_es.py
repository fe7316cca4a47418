"""Learning check for marl_ray's ES: CartPole-v1 (tune_configs/es_cartpole.yaml, at most 3
minutes on 2 cores), then 100 greedy evaluation episodes of the final theta; target mean
return >= 475. Prints one JSON line last: {"eval_return", "generations", "env_steps",
"wall_s"}.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from marl_ray.config import load_experiment
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    connect(None, num_cpus=2)
    storage = tempfile.mkdtemp(prefix="learn_es_")
    exp = load_experiment(
        ROOT / "tune_configs" / "es_cartpole.yaml",
        ["stop.time_total_s=180", f"storage_path={storage}"],
    )
    summary = run_experiment(exp, verbose=0)
    result = evaluate_checkpoint(summary.checkpoint, episodes=100, seed=2024)
    generations = summary.training_iterations * exp.training.extra.get(
        "generations_per_iteration", 1
    )
    print(
        json.dumps(
            {
                "eval_return": result.episode_return_mean,
                "generations": generations,
                "env_steps": summary.timesteps,
                "wall_s": summary.wall_s,
                "train_return_recent_evaluations": summary.episode_return_mean,
            }
        )
    )


if __name__ == "__main__":
    main()
