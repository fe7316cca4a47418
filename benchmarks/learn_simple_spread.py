"""Learning check: PPO with one shared policy on pz/simple_spread (mpe2, N=3,
tune_configs/simple_spread_ppo.yaml), against random actions on the same 200 seeded
episodes.

Prints one JSON line last: {"learned", "random", ...}: mean episode return (summed over the
agents); higher is better.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scripted_comparison import random_policy, train

import envs
from marl_ray.evaluate import EVAL_COPIES, evaluate_checkpoint, play


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-env-steps", type=int, default=300_000)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    exp, checkpoint, wall_s, steps = train(
        "simple_spread_ppo.yaml",
        [
            f"stop.timesteps_total={args.max_env_steps}",
            "stop.time_total_s=null",
            f"seed={args.seed}",
        ],
    )
    seed = 1000 + args.seed
    learned = evaluate_checkpoint(checkpoint, episodes=args.episodes, seed=seed)
    core = envs.make_batched(exp.env.name, min(EVAL_COPIES, args.episodes), exp.env.core_config)
    rng = np.random.default_rng(seed)
    finished = play(core, lambda obs, _: random_policy(core, rng), args.episodes, seed)
    randomly = float(np.mean([ep.returns.sum() for ep in finished]))
    print(
        json.dumps(
            {
                "learned": round(learned.episode_return_mean, 2),
                "random": round(randomly, 2),
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
