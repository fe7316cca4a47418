"""Learning check: PPO with one shared policy on the unsignalised intersection
(tune_configs/vehicles_ppo.yaml), judged against first-come-first-served reservation (IDM +
FCFS) and random accelerations on the same seeded episodes.

Prints one JSON line last: {"learned", "fcfs", "random"}, each {"collisions_per_100_vehicles",
"throughput_per_min"} (collisions among the vehicles that left the zone; exits per minute of
episode time), with the targets: learned collisions <= 10 % of random's and learned
throughput >= 80 % of FCFS's.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scripted_comparison import add_overrides_argument, random_policy, train

import envs
from marl_ray.evaluate import EVAL_COPIES, evaluate_checkpoint, mean_episode_infos, play


def traffic(collisions: float, exited: float, steps: float, dt: float) -> dict[str, float]:
    """Per-episode means -> the two traffic figures."""
    return {
        "collisions_per_100_vehicles": round(100 * collisions / max(collisions + exited, 1e-9), 3),
        "throughput_per_min": round(exited / (steps * dt / 60), 3),
    }


def scripted(exp, policy, episodes: int, seed: int) -> dict[str, float]:
    core = envs.make_batched(exp.env.name, min(EVAL_COPIES, episodes), exp.env.config)
    rng = np.random.default_rng(seed)
    finished = play(core, lambda obs, _: policy(core, rng), episodes, seed)
    sums = mean_episode_infos(finished)
    steps = float(np.mean([ep.length for ep in finished]))
    return traffic(sums["collisions"], sums["exited"], steps, core.config.dt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-env-steps", type=int, default=1_500_000)
    parser.add_argument("--max-seconds", type=float, default=3300.0)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    add_overrides_argument(parser)
    args = parser.parse_args()
    exp, checkpoint, wall_s, steps = train(
        "vehicles_ppo.yaml",
        [
            f"stop.timesteps_total={args.max_env_steps}",
            f"stop.time_total_s={args.max_seconds}",
            f"seed={args.seed}",
            *args.set,
        ],
    )
    seed, n = 1000 + args.seed, args.episodes
    dt = envs.make_config(exp.env.name, exp.env.config).dt
    result = evaluate_checkpoint(checkpoint, episodes=n, seed=seed)
    infos = result.episode_infos
    learned = traffic(infos["collisions"], infos["exited"], result.episode_len_mean, dt)
    fcfs = scripted(exp, lambda core, rng: core.baseline_actions("fcfs"), n, seed)
    randomly = scripted(exp, random_policy, n, seed)
    collisions_ok = (
        learned["collisions_per_100_vehicles"] <= 0.1 * randomly["collisions_per_100_vehicles"]
    )
    throughput_ok = learned["throughput_per_min"] >= 0.8 * fcfs["throughput_per_min"]
    print(
        json.dumps(
            {
                "learned": learned,
                "fcfs": fcfs,
                "random": randomly,
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
                "target_met": bool(collisions_ok and throughput_ok),
            }
        )
    )


if __name__ == "__main__":
    main()
