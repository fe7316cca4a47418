"""Learning check: PPO, shared policy, cooperative 5x5 grid world with 2 agents.

Trains the demo experiment for a fixed env-step budget (no early stop on the training
success rate: a stochastic policy that succeeds in training can still loop when greedy),
then evaluates the final checkpoint on 500 fresh episodes, seeds apart from training's,
with greedy actions and with sampled actions, on the same episodes.
Prints one JSON line last: {"success_rate" (greedy), "stochastic_success_rate",
"env_steps", "wall_s", ...}; the target is success_rate >= 0.95 within 300k env steps.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from marl_ray.config import load_experiment
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=150_000)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    storage = tempfile.mkdtemp(prefix="learn_grid_world_")
    exp = load_experiment(
        ROOT / "tune_configs" / "grid_world_ppo.yaml",
        [
            f"stop.timesteps_total={args.env_steps}",
            "stop.time_total_s=null",
            "stop.metric={}",
            f"seed={args.seed}",
            f"storage_path={storage}",
        ],
    )
    connect(None, num_cpus=2)
    start = time.time()
    summary = run_experiment(exp, verbose=0)
    wall_s = time.time() - start
    eval_seed = 1000 + args.seed
    result = evaluate_checkpoint(summary.checkpoint, episodes=args.episodes, seed=eval_seed)
    sampled = evaluate_checkpoint(
        summary.checkpoint, episodes=args.episodes, seed=eval_seed, explore=True
    )
    print(
        json.dumps(
            {
                "success_rate": result.success_rate,
                "stochastic_success_rate": sampled.success_rate,
                "env_steps": summary.timesteps,
                "wall_s": round(wall_s, 1),
                "train_success_rate_100_episodes": summary.success_rate,
                "eval_episodes": result.episodes,
                "eval_episode_len_mean": result.episode_len_mean,
                "eval_return_mean": result.episode_return_mean,
            }
        )
    )


if __name__ == "__main__":
    main()
