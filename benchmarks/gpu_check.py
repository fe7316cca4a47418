"""Every GPU path of our algorithms on a real CUDA device, with the CPU figures beside them.

For each algorithm whose learner (or server, trainer, inference actor) can sit on a GPU:
A3C (parameter server), MARL_IMPALA (learner), MARL_PPO (learner), QMIX (learner; IQL and VDN
share it), MADDPG (learner) and ALPHAZERO (trainer and inference actor), a short training
through Tune with `resources.num_gpus: 1` and then with `0`, on the algorithm's ready
experiment file. The GPU run asks Ray for the GPU (the trial's placement group holds it) and
the learner takes `cuda` (`marl_ray/algorithms/core/device.py`; it warns if torch sees none).
Each run reports env steps/s and learner updates/s (AlphaZero: MCTS simulations/s) of its
last iteration.

Without a CUDA device it says so and exits with status 2 (no crash, nothing run), unless
`--cpu-only`, which runs the CPU column alone (to check the script itself on a CPU machine).
Prints one JSON line last: {"device", "cuda", "runs": {algorithm: {"gpu": {...}, "cpu":
{...}}}, "wall_s"}. Budget: under 5 minutes with the default `--iterations 3`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# algorithm -> (experiment file, overrides keeping each run to seconds, its throughput column)
CASES = {
    "A3C": ("a3c_grid_world.yaml", [], "learners/updates_per_s"),
    "MARL_IMPALA": ("impala_grid_world.yaml", [], "learners/learner_updates_per_s"),
    "MARL_PPO": ("grid_world_marl_ppo.yaml", [], "learners/learner_updates_per_s"),
    "QMIX": ("qmix_two_step.yaml", [], "learners/learner_updates_per_s"),
    "MADDPG": ("maddpg_simple_spread.yaml", [], "learners/learner_updates_per_s"),
    "ALPHAZERO": ("alphazero_tictactoe.yaml", [], "learners/simulations_per_s"),
}


def run(algorithm: str, gpus: int, iterations: int, storage: str) -> dict:
    from marl_ray.config import load_experiment
    from marl_ray.runner import run_experiment

    file, extra, rate_column = CASES[algorithm]
    exp = load_experiment(
        ROOT / "tune_configs" / file,
        [
            *extra,
            f"resources.num_gpus={gpus}",
            f"stop.training_iteration={iterations}",
            "stop.timesteps_total=null",
            "stop.time_total_s=120",
            "stop.metric={}",
            "checkpoint.frequency=0",
            "checkpoint.at_end=false",
            "logging.tensorboard=false",
            f"storage_path={storage}",
        ],
    )
    started = time.perf_counter()
    summary = run_experiment(exp, verbose=0)
    (progress,) = Path(summary.run_dir).glob("*/progress.csv")
    last = pd.read_csv(progress).iloc[-1]
    return {
        "env_steps_per_s": _round(last.get("env_steps_per_s")),
        rate_column.rsplit("/", 1)[-1]: _round(last.get(rate_column)),
        "iterations": int(last["training_iteration"]),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def _round(value) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--algorithms", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--cpu-only", action="store_true", help="no CUDA here: CPU column only")
    args = parser.parse_args()
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu_only:
        print(
            "gpu_check: no CUDA device here (torch.cuda.is_available() is False, torch "
            f"{torch.__version__}); nothing to check. Run it on a machine with a GPU, or "
            "pass --cpu-only for the CPU figures alone.",
            file=sys.stderr,
        )
        return 2
    from marl_ray.runner import connect

    connect(None)  # Ray sees the machine's GPUs itself
    device = torch.cuda.get_device_name(0) if cuda else "cpu only"
    print(f"gpu_check: {device}; algorithms: {', '.join(args.algorithms)}", flush=True)
    started = time.perf_counter()
    runs: dict = {}
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as storage:
        for algorithm in args.algorithms:
            runs[algorithm] = {}
            for column, gpus in (("gpu", 1), ("cpu", 0)):
                if column == "gpu" and not cuda:
                    continue
                runs[algorithm][column] = figures = run(algorithm, gpus, args.iterations, storage)
                print(f"{algorithm} {column}: {json.dumps(figures)}", flush=True)
    print(
        json.dumps(
            {
                "device": device,
                "cuda": cuda,
                "torch": torch.__version__,
                "runs": runs,
                "wall_s": round(time.perf_counter() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
