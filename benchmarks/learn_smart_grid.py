"""Learning check: PPO with a policy per agent type on the smart grid (one day, 24 hourly
steps), judged against the merit-order dispatch baseline and random actions on the same
200 seeded days.

Prints one JSON line last: {"learned", "baseline", "random", ...}: social welfare per day in
$ (value of served energy - generation cost - discomfort - imbalance penalty); the target is
learned >= 0.9 * baseline and clearly above random. `--algorithm MARL_PPO` trains
smart_grid_marl_ppo.yaml (our distributed PPO, 10 minutes) instead of RLlib's PPO.
"""

from __future__ import annotations

import argparse
import json

from scripted_comparison import (
    add_overrides_argument,
    learned_measure,
    random_policy,
    scripted_measure,
    stop_overrides,
    train,
)

KEY = "welfare"
# RLlib's PPO (400k env steps, however long they take) and ours (10 minutes), same market
# and reward.
FILES = {"PPO": "smart_grid_ppo.yaml", "MARL_PPO": "smart_grid_marl_ppo.yaml"}
BUDGETS = {"PPO": ["stop.time_total_s=null"], "MARL_PPO": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algorithm", choices=FILES, default="PPO")
    parser.add_argument("--max-env-steps", type=int, help="default: the file's stop")
    parser.add_argument("--max-seconds", type=float, help="default: the file's stop")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    add_overrides_argument(parser)
    args = parser.parse_args()
    exp, checkpoint, wall_s, steps = train(
        FILES[args.algorithm],
        [*BUDGETS[args.algorithm], *stop_overrides(args), f"seed={args.seed}", *args.set],
    )
    seed, n = 1000 + args.seed, args.episodes
    learned = learned_measure(checkpoint, KEY, n, seed)
    baseline = scripted_measure(exp, lambda core, rng: core.baseline_actions(), KEY, n, seed)
    randomly = scripted_measure(exp, random_policy, KEY, n, seed)
    print(
        json.dumps(
            {
                "learned": round(learned, 1),
                "baseline": round(baseline, 1),
                "random": round(randomly, 1),
                "learned_fraction_of_baseline": round(learned / baseline, 4),
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
                "algorithm": exp.algorithm,
            }
        )
    )


if __name__ == "__main__":
    main()
