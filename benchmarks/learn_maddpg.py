"""Learning check for MADDPG on two continuous-action envs against RLlib's PPO trained here at
the same env steps, over several seeds, each run judged on the same seeded evaluation
episodes as its references:

- `pz/simple_spread` (mpe2, N=3, `continuous_actions: true`): mean episode return (sum over
  agents, higher is better) of MADDPG (maddpg_simple_spread.yaml), RLlib's PPO
  (simple_spread_ppo.yaml) and uniformly random actions; 300k env steps.
- `smart_grid` (team reward): social welfare per day ($) as a fraction of the merit-order
  baseline's, of MADDPG (maddpg_smart_grid.yaml) and RLlib's PPO (smart_grid_ppo.yaml, the
  figure of `learn_smart_grid.py`); 400k env steps.

Each side trains with its own experiment file (its own tuned network and batch), with the same
env, env steps, CPUs and evaluation episodes. Evaluation seeds (1000 + seed) never overlap
the training seeds. Runs take long (RLlib's PPO on the smart grid: about 25 minutes each), so
every finished run is appended to `--results` (JSON lines) and skipped when the benchmark
is started again with the same file.

Prints a line per run, then one JSON line last: per env, per side, the mean over seeds with a
95 % bootstrap interval, P(MADDPG > PPO), wall times and MADDPG's sampler env steps/s and
learner updates/s.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import ray
from scripted_comparison import learned_measure, random_returns, scripted_measure, train

from marl_ray.compare.report import LEARNER_UPDATES
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.results import read_progress
from marl_ray.stats import mean_interval, probability_of_improvement

SIDES = ("maddpg", "rllib_ppo")


def throughput(checkpoint: str) -> dict[str, float]:
    """Mean sampler env steps/s and learner updates/s over the trial's iterations."""
    progress = read_progress(Path(checkpoint).parent)
    columns = {"env_steps_per_s": "env_steps_per_s", "learner_updates_per_s": LEARNER_UPDATES}
    return {
        name: round(float(progress[column].mean()), 1)
        for name, column in columns.items()
        if progress is not None and column in progress
    }


def trained(side: str, files: dict[str, str], overrides: list[str]):
    """Trains one side; returns the experiment, checkpoint and its run figures."""
    exp, checkpoint, wall_s, env_steps = train(files[side], overrides)
    figures = {"env_steps": env_steps, "wall_s": round(wall_s, 1)}
    if side == "maddpg":
        figures |= throughput(checkpoint)
    return exp, checkpoint, figures


def simple_spread(side: str, seed: int, args) -> dict:
    """One side's greedy return on simple_spread (continuous), and random's."""
    files = {"maddpg": "maddpg_simple_spread.yaml", "rllib_ppo": "simple_spread_ppo.yaml"}
    overrides = [
        "env.config.continuous_actions=true",
        f"stop.timesteps_total={args.simple_spread_steps}",
        "stop.time_total_s=null",
        f"seed={seed}",
        *args.set,
    ]
    exp, checkpoint, figures = trained(side, files, overrides)
    n, eval_seed = args.episodes, 1000 + seed
    score = evaluate_checkpoint(checkpoint, episodes=n, seed=eval_seed).episode_return_mean
    randomly = sum(random_returns(exp, n, eval_seed).values())
    return {"score": round(score, 2), "random": round(randomly, 2), **figures}


def smart_grid(side: str, seed: int, args) -> dict:
    """One side's welfare as a fraction of the merit-order baseline's on the same days."""
    files = {"maddpg": "maddpg_smart_grid.yaml", "rllib_ppo": "smart_grid_ppo.yaml"}
    overrides = [
        f"stop.timesteps_total={args.smart_grid_steps}",
        "stop.time_total_s=null",
        f"seed={seed}",
        *args.set,
    ]
    exp, checkpoint, figures = trained(side, files, overrides)
    n, eval_seed = args.episodes, 1000 + seed
    learned = learned_measure(checkpoint, "welfare", n, eval_seed)
    baseline = scripted_measure(
        exp, lambda core, rng: core.baseline_actions(), "welfare", n, eval_seed
    )
    return {
        "score": round(learned / baseline, 4),
        "welfare": round(learned, 1),
        "baseline": round(baseline, 1),
        **figures,
    }


ENVS: dict[str, Callable[[str, int, argparse.Namespace], dict]] = {
    "simple_spread": simple_spread,
    "smart_grid": smart_grid,
}
"""Per env: trains one side on one seed and returns {"score", ...} (higher is better)."""


def summary(runs: list[dict], seeds: list[int]) -> dict:
    """Per env and side: the mean score over seeds with its interval; P(MADDPG > PPO)."""
    out: dict = {}
    for env in ENVS:
        by_side = {
            side: [
                r for s in seeds for r in runs if (r["env"], r["side"], r["seed"]) == (env, side, s)
            ]
            for side in SIDES
        }
        if not all(len(got) == len(seeds) for got in by_side.values()):
            continue
        scores = {side: [r["score"] for r in got] for side, got in by_side.items()}
        out[env] = {
            side: {
                **mean_interval(scores[side]),
                "wall_s": [r["wall_s"] for r in got],
                **{
                    key: round(sum(r[key] for r in got) / len(got), 1)
                    for key in ("env_steps_per_s", "learner_updates_per_s", "random")
                    if all(key in r for r in got)
                },
            }
            for side, got in by_side.items()
        }
        out[env]["p_maddpg_over_ppo"] = probability_of_improvement(
            [scores["maddpg"]], [scores["rllib_ppo"]]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", nargs="+", choices=list(ENVS), default=list(ENVS))
    parser.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--simple-spread-steps", type=int, default=300_000)
    parser.add_argument("--smart-grid-steps", type=int, default=400_000)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("learn_maddpg_runs.jsonl"),
        help="finished runs, one JSON line each; runs found here are not trained again",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if len(args.seeds) < 3:
        parser.error("--seeds: a comparison of learning needs at least 3 seeds per side")
    runs = (
        [json.loads(line) for line in args.results.read_text().splitlines()]
        if args.results.exists()
        else []
    )
    done = {(r["env"], r["side"], r["seed"]) for r in runs}
    for env in args.envs:
        for seed in args.seeds:
            for side in args.sides:
                if (env, side, seed) in done:
                    continue
                run = {"env": env, "side": side, "seed": seed, **ENVS[env](side, seed, args)}
                runs.append(run)
                with args.results.open("a") as f:
                    f.write(json.dumps(run) + "\n")
                print(json.dumps(run), flush=True)
    ray.shutdown()  # flushes the workers' log lines, so the JSON line is the last one
    report = {
        "seeds": args.seeds,
        "env_steps": {
            "simple_spread": args.simple_spread_steps,
            "smart_grid": args.smart_grid_steps,
        },
        **summary(runs, args.seeds),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
