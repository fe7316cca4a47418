"""MAPPO vs IPPO at equal env steps and seeds, with the same shared actor and PPO settings:
MAPPO's critic reads the global state (`model.module: centralized_critic`), IPPO's
(`model.module: mlp`, separate value trunk) the agent's own observation.

- Cooperative grid world (3 agents, 3 targets, 7x7; tune_configs/grid_world_mappo.yaml):
  success rate of each final policy, greedy, on 500 fresh episodes.
- `pz/simple_spread` (mpe2, N=3; tune_configs/simple_spread_ppo.yaml): mean episode return
  (sum over agents) on 200 fresh episodes; the global state is every agent's observation.

Prints one JSON line last: {"mappo", "ippo", "env_steps", ...} (grid world success rates) and
"simple_spread": {"mappo", "ippo", "env_steps", ...} (returns); the target is mappo >= ippo.
"""

from __future__ import annotations

import argparse
import json

from scripted_comparison import train

from marl_ray.evaluate import evaluate_checkpoint

ACTOR = "hidden_sizes: [64, 64]"
MAPPO = [
    "model.module=centralized_critic",
    f"model.options={{{ACTOR}, critic_hidden_sizes: [128, 128]}}",
]
IPPO = ["model.module=mlp", f"model.options={{{ACTOR}, shared_trunk: false}}"]


def compare(config_file: str, env_steps: int, episodes: int, seed: int) -> dict:
    """Trains MAPPO then IPPO on `config_file`; each one's success rate and mean return."""
    budget = [f"stop.timesteps_total={env_steps}", "stop.time_total_s=null", f"seed={seed}"]
    report: dict = {}
    for name, extra in (("mappo", MAPPO), ("ippo", IPPO)):
        _, checkpoint, wall_s, steps = train(config_file, [*budget, *extra])
        result = evaluate_checkpoint(checkpoint, episodes=episodes, seed=1000 + seed)
        report[name] = result.success_rate
        report[f"{name}_return"] = round(result.episode_return_mean, 3)
        report[f"{name}_wall_s"] = round(wall_s, 1)
        report["env_steps"] = steps
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=300_000)
    parser.add_argument("--simple-spread-steps", type=int, default=300_000)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--simple-spread-episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--envs",
        nargs="+",
        choices=["grid_world", "simple_spread"],
        default=None,
        help="which comparisons to run (default: both)",
    )
    args = parser.parse_args()
    chosen = args.envs or ["grid_world", "simple_spread"]
    report: dict = {}
    if "grid_world" in chosen:
        report.update(compare("grid_world_mappo.yaml", args.env_steps, args.episodes, args.seed))
    if "simple_spread" in chosen:
        spread = compare(
            "simple_spread_ppo.yaml",
            args.simple_spread_steps,
            args.simple_spread_episodes,
            args.seed,
        )
        report["simple_spread"] = {
            "mappo": spread["mappo_return"],
            "ippo": spread["ippo_return"],
            "env_steps": spread["env_steps"],
            "mappo_wall_s": spread["mappo_wall_s"],
            "ippo_wall_s": spread["ippo_wall_s"],
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
