"""Learning check: MPE simple_adversary (mpe2, by import path: a user env) with one policy per
agent type (tune_configs/simple_adversary_ppo.yaml, marl_ray's distributed PPO).

The good team's reward rises as its closest agent nears the target and falls as the
adversary nears it, so "learned vs random everything" would mix both sides' skill. Instead
the same seeded episodes are played by four line-ups: good agents learned or random, against
the adversary learned or random. Prints one JSON line last: the good team's mean episode
return (agent_0 + agent_1, who share the team reward) and the adversary's for each line-up
(evaluation seed 1000 + seed, never a training seed). Learned good agents should beat random
good agents against the same adversary. `--checkpoint` evaluates an earlier run's
checkpoint instead of training.
"""

from __future__ import annotations

import json

import numpy as np
from scripted_comparison import learning_arguments, train_with

import envs
from marl_ray.evaluate import EVAL_COPIES, checkpoint_experiment, learned_actions, play

GOOD, ADVERSARY = ("agent_0", "agent_1"), "adversary_0"


def line_up(core, learned, learned_agents: set[str], seed: int):
    """Actions of the learned policies for `learned_agents`, uniformly random for the rest
    (drawn from a generator seeded alike for every line-up)."""
    random_cols = [i for i, a in enumerate(core.possible_agents) if a not in learned_agents]
    random = np.random.default_rng(seed)

    def act(obs, rng):
        actions = learned(obs, rng)
        actions[:, random_cols] = core.sample_actions(random)[:, random_cols]
        return actions

    return act


def main() -> None:
    args = learning_arguments(__doc__, episodes=200, checkpoint=True)
    if args.checkpoint:
        checkpoint, wall_s, steps = args.checkpoint, None, None
        exp, _ = checkpoint_experiment(checkpoint)
    else:
        exp, checkpoint, wall_s, steps = train_with("simple_adversary_ppo.yaml", args)
    seed = 1000 + args.seed
    core = envs.make_batched(exp.env.name, min(EVAL_COPIES, args.episodes), exp.env.core_config)
    learned = learned_actions(checkpoint, core)
    agents = core.possible_agents
    good, adversary = [agents.index(a) for a in GOOD], agents.index(ADVERSARY)
    figures = {}
    for good_side in ("learned", "random"):
        for adversary_side in ("learned", "random"):
            chosen = (set(GOOD) if good_side == "learned" else set()) | (
                {ADVERSARY} if adversary_side == "learned" else set()
            )
            finished = play(core, line_up(core, learned, chosen, seed), args.episodes, seed)
            returns = np.stack([ep.returns for ep in finished]).mean(axis=0)
            key = f"good_{good_side}_vs_adversary_{adversary_side}"
            figures[key] = {
                "good_team": round(float(returns[good].sum()), 2),
                "adversary": round(float(returns[adversary]), 2),
            }
    print(
        json.dumps(
            {
                **figures,
                "episodes": args.episodes,
                "env_steps": steps,
                "wall_s": None if wall_s is None else round(wall_s, 1),
                "checkpoint": checkpoint,
            }
        )
    )


if __name__ == "__main__":
    main()
