"""Learning check: one shared PPO policy on resource allocation (4 agents, 3 resources of
capacity 2, utilitarian reward), judged against the water-filling optimum, the equal-split
and weight-proportional allocators and random requests on the same 400 seeded episodes.

Prints one JSON line last: {"learned", "optimal", "random", "baselines", ...}, utilitarian
welfare per episode (sum over its rounds); the target is learned >= 0.9 * optimal.
"""

from __future__ import annotations

import argparse
import json

from scripted_comparison import learned_measure, random_policy, scripted_measure, train

KEY = "utilitarian"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-env-steps", type=int, default=200_000)
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    exp, checkpoint, wall_s, steps = train(
        "resource_allocation_ppo.yaml",
        [
            f"stop.timesteps_total={args.max_env_steps}",
            "stop.time_total_s=null",
            f"seed={args.seed}",
        ],
    )
    seed, n = 1000 + args.seed, args.episodes
    learned = learned_measure(checkpoint, KEY, n, seed)
    scripted = {
        name: scripted_measure(
            exp, lambda core, rng, b=name: core.baseline_actions(b), KEY, n, seed
        )
        for name in ("equal", "proportional", "optimal")
    }
    optimal = scripted.pop("optimal")
    randomly = scripted_measure(exp, random_policy, KEY, n, seed)
    print(
        json.dumps(
            {
                "learned": round(learned, 4),
                "optimal": round(optimal, 4),
                "random": round(randomly, 4),
                "baselines": {k: round(v, 4) for k, v in scripted.items()},
                "learned_fraction_of_optimal": round(learned / optimal, 4),
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
