"""Learning check for marl_ray's A3C on 2 cores.

1. CartPole-v1 (tune_configs/a3c_cartpole.yaml, at most 5 minutes): mean return of the final
   weights over 100 greedy evaluation episodes; target >= 475.
2. Cooperative grid world (tune_configs/a3c_grid_world.yaml, until a 100-episode training
   success rate of 0.99): success rate of the learned (stochastic) policy over 500 evaluation
   episodes; target >= 0.9. The greedy policy's rate is reported beside it.
Prints one JSON line last: {"cartpole_eval_return", "cartpole_wall_s",
"grid_world_success_rate", "env_steps_per_s", ...}.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from marl_ray.config import load_experiment
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def train(config: str, overrides: list[str]):
    storage = tempfile.mkdtemp(prefix="learn_a3c_")
    exp = load_experiment(ROOT / "tune_configs" / config, [*overrides, f"storage_path={storage}"])
    return run_experiment(exp, verbose=0)


def main() -> None:
    connect(None, num_cpus=2)
    cartpole = train("a3c_cartpole.yaml", ["stop.time_total_s=300"])
    cartpole_eval = evaluate_checkpoint(cartpole.checkpoint, episodes=100, seed=2024)
    grid = train("a3c_grid_world.yaml", ["stop.metric.success_rate=0.99"])
    # The policy A3C learns is stochastic: evaluate it as it acts, and greedily beside it.
    grid_eval = evaluate_checkpoint(grid.checkpoint, episodes=500, seed=2024, explore=True)
    grid_greedy = evaluate_checkpoint(grid.checkpoint, episodes=500, seed=2024)
    print(
        json.dumps(
            {
                "cartpole_eval_return": cartpole_eval.episode_return_mean,
                "cartpole_wall_s": cartpole.wall_s,
                "grid_world_success_rate": grid_eval.success_rate,
                "grid_world_greedy_success_rate": grid_greedy.success_rate,
                "env_steps_per_s": round(cartpole.timesteps / cartpole.wall_s),
                "cartpole_env_steps": cartpole.timesteps,
                "cartpole_train_return_100_episodes": cartpole.episode_return_mean,
                "grid_world_env_steps": grid.timesteps,
                "grid_world_wall_s": grid.wall_s,
            }
        )
    )


if __name__ == "__main__":
    main()
