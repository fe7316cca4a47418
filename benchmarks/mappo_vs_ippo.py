"""MAPPO vs IPPO on the cooperative grid world (3 agents, 3 targets, 7x7): the same shared
actor and budget, seeds and PPO settings (tune_configs/grid_world_mappo.yaml); MAPPO's critic
reads the global state, IPPO's (model.module: mlp, separate value trunk) the agent's own
observation. Each final policy is evaluated greedily on 500 fresh episodes.

Prints one JSON line last: {"mappo", "ippo", "env_steps", ...} (success rates); the target is
mappo >= ippo.
"""

from __future__ import annotations

import argparse
import json

from scripted_comparison import train

from marl_ray.evaluate import evaluate_checkpoint

IPPO = ["model.module=mlp", "model.options={hidden_sizes: [64, 64], shared_trunk: false}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=300_000)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    budget = [f"stop.timesteps_total={args.env_steps}", "stop.time_total_s=null"]
    budget.append(f"seed={args.seed}")
    report = {}
    for name, extra in (("mappo", []), ("ippo", IPPO)):
        _, checkpoint, wall_s, steps = train("grid_world_mappo.yaml", [*budget, *extra])
        result = evaluate_checkpoint(checkpoint, episodes=args.episodes, seed=1000 + args.seed)
        report[name] = result.success_rate
        report[f"{name}_return"] = round(result.episode_return_mean, 3)
        report[f"{name}_wall_s"] = round(wall_s, 1)
        report["env_steps"] = steps
    print(json.dumps(report))


if __name__ == "__main__":
    main()
