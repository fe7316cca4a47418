"""Learning check: MPE simple_adversary (mpe2, by import path: a user env) with one policy per
agent type (tune_configs/simple_adversary_ppo.yaml, marl_ray's distributed PPO), against
random play on the same seeded episodes.

Prints one JSON line last: the good team's mean episode return (agent_0 + agent_1; both get
the team reward, so this is twice it) and the adversary's, for the learned policies (greedy)
and for random actions on the same `--episodes` episodes (evaluation seed 1000 + seed).
Learned good agents should beat random ones: a higher good-team return.
"""

from __future__ import annotations

import json

from scripted_comparison import learning_arguments, random_returns, train_with

from marl_ray.evaluate import evaluate_checkpoint

GOOD, ADVERSARY = ("agent_0", "agent_1"), "adversary_0"


def main() -> None:
    args = learning_arguments(__doc__, episodes=200)
    exp, checkpoint, wall_s, steps = train_with("simple_adversary_ppo.yaml", args)
    seed = 1000 + args.seed
    learned = evaluate_checkpoint(checkpoint, episodes=args.episodes, seed=seed)
    randomly = random_returns(exp, args.episodes, seed)
    print(
        json.dumps(
            {
                "learned_good_team": round(sum(learned.agent_returns[a] for a in GOOD), 2),
                "learned_adversary": round(learned.agent_returns[ADVERSARY], 2),
                "random_good_team": round(float(sum(randomly[a] for a in GOOD)), 2),
                "random_adversary": round(float(randomly[ADVERSARY]), 2),
                "episodes": args.episodes,
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
