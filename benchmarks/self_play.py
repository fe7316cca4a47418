"""Self-play on the competitive grid world (tune_configs/grid_world_selfplay.yaml): `main`
trains against a growing pool of its own snapshots. The final policy then plays 400 games
against every snapshot, on both sides equally often.

Win rates score a win 1, a k-way draw (simultaneous arrival) 1/k, a loss 0. Besides the
pool, main plays a fixed scripted opponent (shortest path to its own target, ignoring main).

Prints one JSON line last: {"win_rate_vs_first", "win_rate_vs_pool", "win_rate_vs_scripted",
...}; the target is win_rate_vs_first >= 0.9 (the first snapshot is main as it started).
"""

from __future__ import annotations

import argparse
import json

from scripted_comparison import train

from marl_ray.evaluate import evaluate_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=150_000)
    parser.add_argument("--games", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _, checkpoint, wall_s, steps = train(
        "grid_world_selfplay.yaml",
        [f"stop.timesteps_total={args.env_steps}", "stop.time_total_s=null", f"seed={args.seed}"],
    )
    result = evaluate_checkpoint(
        checkpoint, episodes=args.games, seed=1000 + args.seed, scripted_opponent="shortest_path"
    )
    rates = result.self_play
    print(
        json.dumps(
            {
                "win_rate_vs_first": round(rates["win_rate_vs_first"], 3),
                "win_rate_vs_pool": round(rates["win_rate_vs_pool"], 3),
                "win_rate_vs_scripted": round(rates["win_rate_vs_scripted"], 3),
                "pool_size": len(rates["win_rates"]),
                "win_rates": {k: round(v, 3) for k, v in rates["win_rates"].items()},
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
