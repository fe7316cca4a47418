"""Self-play on the competitive grid world (tune_configs/grid_world_selfplay.yaml) through
`marl-ray compare`: `main` trains against a growing pool of its own snapshots; a snapshot joins
the pool once main wins `win_rate_threshold` of an iteration's games. Two thresholds are
compared (0.75, the file's, against 0.55: a pool that grows faster with weaker snapshots),
several seeds each.

Every final main plays the same evaluation games (seed 1,000,000) against every snapshot of
its own pool, on both sides equally often, and against a fixed scripted opponent (shortest
path to its own target, ignoring main), the yardstick that is the same for every run. Win
rates score a win 1, a k-way draw (simultaneous arrival) 1/k, a loss 0.

Prints one JSON line last: per threshold the IQM, mean and 95 % stratified bootstrap interval
over seeds of the win rate against the scripted player (the compared figure), against the
first snapshot (main as it started; the target is >= 0.9) and against the pool,
P(0.75 > 0.55) on the compared figure, and the scripted player's score against itself on
the same games (`scripted_vs_scripted`: where a main that races as well as it lands).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import ray

import envs
from marl_ray.compare.run import compare_files
from marl_ray.config import load_experiment
from marl_ray.evaluate import EVAL_COPIES, against_scripted, main_score

ROOT = Path(__file__).resolve().parents[1]
SCRIPTED = "shortest_path"
VARIANTS = (
    "compare.variants={threshold_75: {multi_agent.self_play.win_rate_threshold: 0.75}, "
    "threshold_55: {multi_agent.self_play.win_rate_threshold: 0.55}}"
)


def scripted_reference(games: int) -> float:
    """The scripted player's own score against itself on the same evaluation games: what a
    main that races like it (shortest path, ignoring the other) scores. No main can do
    better than shortest paths in this race, so the scripted yardstick tops out here."""
    exp = load_experiment(ROOT / "tune_configs" / "grid_world_selfplay.yaml")
    core = envs.make_batched(exp.env.name, min(EVAL_COPIES, games), exp.env.core_config)
    scripted = lambda obs, rng: core.baseline_actions(SCRIPTED)  # noqa: E731
    sides = [against_scripted(scripted, core, side, SCRIPTED) for side in range(core.num_agents)]
    return main_score(sides, core, games, exp.compare.eval_seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-steps", type=int, default=150_000)
    parser.add_argument("--games", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.seeds < 3:
        parser.error("--seeds: a comparison of learning needs at least 3 seeds per side")
    storage, comparison = compare_files(
        [str(ROOT / "tune_configs" / "grid_world_selfplay.yaml")],
        [
            VARIANTS,
            "compare.metric=win_rate_vs_scripted",
            f"compare.scripted_opponent={SCRIPTED}",
            f"stop.timesteps_total={args.env_steps}",
            "stop.time_total_s=null",
        ],
        seeds=args.seeds,
        eval_episodes=args.games,
    )
    report: dict = {"compare_dir": storage.location, "figure": comparison.primary}
    for figure in ("win_rate_vs_scripted", "win_rate_vs_first", "win_rate_vs_pool"):
        table = comparison.figures.get(f"evaluation {figure} (greedy)", {})
        report[figure] = {
            side: {k: t[k] for k in ("iqm", "mean", "values")} for side, t in table.items()
        }
    report["p_75_better"] = comparison.improvement.get("threshold_75 > threshold_55")
    report["env_steps"] = comparison.figures["env steps"]
    report["scripted_vs_scripted"] = scripted_reference(args.games)
    ray.shutdown()  # flushes the workers' log lines, so the JSON line is the last one
    print(json.dumps(report))


if __name__ == "__main__":
    main()
