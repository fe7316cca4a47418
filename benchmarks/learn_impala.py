"""Learning check for marl_ray's IMPALA: CartPole-v1 (tune_configs/impala_cartpole.yaml),
once per seed in `--seeds` (3 by default), then 100 greedy evaluation episodes of each run's
final weights (evaluation seed 2024, apart from the training seeds); target mean return
>= 475. Asynchronous IMPALA's env steps to the stop vary a lot from seed to seed (and with
how the actors and the learner interleave), so one run says little: the figures are means
over seeds with 95 % bootstrap intervals.

Prints one JSON line last: {"target", "runs_at_target", "eval_return", "env_steps",
"wall_s", "runs"}, where the three figures are {"mean", "ci", "n", "values"}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from marl_ray.config import load_experiment
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.runner import connect, run_experiment
from marl_ray.stats import mean_interval

ROOT = Path(__file__).resolve().parents[1]
TARGET = 475.0
EVAL_SEED = 2024


def run(seed: int) -> dict:
    storage = tempfile.mkdtemp(prefix="learn_impala_")
    exp = load_experiment(
        ROOT / "tune_configs" / "impala_cartpole.yaml",
        [f"storage_path={storage}", f"seed={seed}"],
    )
    summary = run_experiment(exp, verbose=0)
    result = evaluate_checkpoint(summary.checkpoint, episodes=100, seed=EVAL_SEED)
    return {
        "seed": seed,
        "eval_return": result.episode_return_mean,
        "env_steps": summary.timesteps,
        "wall_s": summary.wall_s,
        "train_return_100_episodes": summary.episode_return_mean,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if EVAL_SEED in args.seeds:
        parser.error(f"--seeds must not include the evaluation seed {EVAL_SEED}")
    connect(None, num_cpus=2)
    runs = []
    for seed in args.seeds:
        runs.append(run(seed))
        print(json.dumps(runs[-1]), flush=True)
    figures = {
        key: mean_interval([r[key] for r in runs]) for key in ("eval_return", "env_steps", "wall_s")
    }
    at_target = sum(r["eval_return"] >= TARGET for r in runs)
    print(json.dumps({"target": TARGET, "runs_at_target": at_target, **figures, "runs": runs}))


if __name__ == "__main__":
    main()
