"""Learning check: Level-Based Foraging `Foraging-8x8-2p-2f-coop-v3` (the lbforaging package,
a user env by Gymnasium id) with marl_ray's distributed PPO (tune_configs/lbforaging_ppo.yaml:
one shared policy, MAPPO critic), against random play on the same seeded episodes.

Prints one JSON line last: greedy and sampled-action mean episode return of the learned
policy (summed over the agents; 1.0 = every food collected) and of random actions over the
same `--episodes` episodes (evaluation seed 1000 + seed, never a training seed), with the env
steps and wall time training took. Target: greedy >= 0.9 within 30 minutes on 2 cores.
"""

from __future__ import annotations

import json

from scripted_comparison import learning_arguments, random_returns, train_with

from marl_ray.evaluate import evaluate_checkpoint


def main() -> None:
    args = learning_arguments(__doc__, episodes=100)
    exp, checkpoint, wall_s, steps = train_with("lbforaging_ppo.yaml", args)
    seed = 1000 + args.seed
    greedy = evaluate_checkpoint(checkpoint, episodes=args.episodes, seed=seed)
    sampled = evaluate_checkpoint(checkpoint, episodes=args.episodes, seed=seed, explore=True)
    randomly = random_returns(exp, args.episodes, seed)
    print(
        json.dumps(
            {
                "greedy_return": round(greedy.episode_return_mean, 3),
                "sampled_return": round(sampled.episode_return_mean, 3),
                "random_return": round(sum(randomly.values()), 3),
                "episodes": args.episodes,
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
                "checkpoint": checkpoint,
            }
        )
    )


if __name__ == "__main__":
    main()
