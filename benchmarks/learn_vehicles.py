"""Learning check: PPO with one shared policy on the unsignalised intersection
(tune_configs/vehicles_ppo.yaml), judged against first-come-first-served reservation (IDM +
FCFS) and random accelerations on the same traffic.

Protocol: every policy plays the same seeded episodes with `fixed_horizon: true`: each
episode lasts `max_seconds` of simulated time, and the exogenous randomness (initial
vehicles, Poisson arrival times, routes) comes from streams fixed at reset that the actions
never touch, so the three policies meet identical arrivals. Throughput is exits per minute
of that fixed horizon (it cannot exceed the arrival rate plus the initial vehicles); delay
is time from arrival (queueing outside the zone included) minus free-flow time, per exited
vehicle; `left_in_system` counts vehicles that arrived but had neither exited nor collided
at the horizon (a policy that holds traffic back pays there).

Prints one JSON line last: {"learned", "fcfs", "random"}, each {"collisions_per_100_vehicles",
"throughput_per_min", "mean_delay_s", "left_in_system"}, with the targets: learned
collisions <= 10 % of random's and learned throughput >= 80 % of FCFS's; and
"collisions_above_fcfs" (learned minus FCFS, per 100 vehicles). `--algorithm MARL_PPO`
trains vehicles_marl_ppo.yaml (our distributed PPO, 10 minutes) instead of RLlib's PPO.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from memory import OUR_PPO_PROCESSES, MemorySampler
from scripted_comparison import add_overrides_argument, random_policy, stop_overrides, train

import envs
from marl_ray.evaluate import EVAL_COPIES, evaluate_checkpoint, mean_episode_infos, play

FIXED = {"fixed_horizon": True}
# RLlib's PPO (1.5M env steps or 3300 s) and ours (10 minutes), same env and rewards.
FILES = {"PPO": "vehicles_ppo.yaml", "MARL_PPO": "vehicles_marl_ppo.yaml"}


def traffic(sums: dict[str, float], initial: int, max_seconds: float) -> dict[str, float]:
    """Per-episode means of the step infos -> the traffic figures over the fixed horizon."""
    collisions, exited = sums["collisions"], sums["exited"]
    return {
        "collisions_per_100_vehicles": round(100 * collisions / max(collisions + exited, 1e-9), 3),
        "throughput_per_min": round(exited / (max_seconds / 60), 3),
        "mean_delay_s": round(sums["delay_s"] / max(exited, 1e-9), 3),
        "left_in_system": round(initial + sums["arrivals"] - exited - collisions, 3),
    }


def scripted(exp, policy, episodes: int, seed: int) -> dict[str, float]:
    config = {**exp.env.config, **FIXED}
    core = envs.make_batched(exp.env.name, min(EVAL_COPIES, episodes), config)
    rng = np.random.default_rng(seed)
    finished = play(core, lambda obs, _: policy(core, rng), episodes, seed)
    c = core.config
    return traffic(mean_episode_infos(finished), c.initial_vehicles, c.max_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algorithm", choices=FILES, default="PPO")
    parser.add_argument("--max-env-steps", type=int, help="default: the file's stop")
    parser.add_argument("--max-seconds", type=float, help="default: the file's stop")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    add_overrides_argument(parser)
    args = parser.parse_args()
    memory = MemorySampler(OUR_PPO_PROCESSES)  # RSS of our PPO's trial and actors, if any
    memory.start()
    exp, checkpoint, wall_s, steps = train(
        FILES[args.algorithm], [*stop_overrides(args), f"seed={args.seed}", *args.set]
    )
    memory.running = False
    seed, n = 1000 + args.seed, args.episodes
    c = envs.make_config(exp.env.name, exp.env.config)
    result = evaluate_checkpoint(checkpoint, episodes=n, seed=seed, env_overrides=FIXED)
    learned = traffic(result.episode_infos, c.initial_vehicles, c.max_seconds)
    fcfs = scripted(exp, lambda core, rng: core.baseline_actions("fcfs"), n, seed)
    randomly = scripted(exp, random_policy, n, seed)
    key = "collisions_per_100_vehicles"
    collisions_ok = learned[key] <= 0.1 * randomly[key]
    throughput_ok = learned["throughput_per_min"] >= 0.8 * fcfs["throughput_per_min"]
    print(
        json.dumps(
            {
                "learned": learned,
                "fcfs": fcfs,
                "random": randomly,
                "collisions_above_fcfs": round(learned[key] - fcfs[key], 3),
                "env_steps": steps,
                "wall_s": round(wall_s, 1),
                "algorithm": exp.algorithm,
                "memory_mb": memory.figures(),
                "target_met": bool(collisions_ok and throughput_ok),
            }
        )
    )


if __name__ == "__main__":
    main()
