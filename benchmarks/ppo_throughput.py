"""Throughput: marl_ray's distributed PPO (MARL_PPO) vs RLlib's PPO on the same grid world.

In one run, on the same local Ray (2 CPUs), each trains for the same wall time (60 s by
default) from tune_configs/grid_world_marl_ppo.yaml (2 agents, 5x5, one shared policy) with
the same sampling: ONE sampling process (our one worker, RLlib's one env runner) stepping the
same number of env copies (64), the same network ([64, 64] actor and critic), train batch
(4096 env steps), minibatch (2048), epochs (4), learning rate, clip and entropy coefficient;
the learner sits in its own process for ours (0.5 CPU) and in the trial process for RLlib's.
Both are synchronous (sample, then learn). Env steps per second = env steps sampled /
training time.

Learning is compared at equal wall time (each side's last row) and at equal env steps (ours
at the first row where it has sampled as many env steps as RLlib did in total). Success
rates are the 100-episode training means Tune recorded.

Memory: the resident set size (RSS) of our trial's processes (trial, learner, worker) is
sampled every second during our run: the peak, and the growth from the first tenth of the
run to its end.

Prints one JSON line last: {"ours_env_steps_per_s", "rllib_env_steps_per_s", "ratio",
"equal_wall_time", "equal_env_steps", "memory_mb", "sampling"}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
from memory import OUR_PPO_PROCESSES, MemorySampler

from marl_ray.config import METRIC_KEYS, load_experiment
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]
SAMPLING = {"processes": 1, "env_copies_per_process": 64}
SAME_SAMPLING = [
    f"resources.num_env_runners={SAMPLING['processes']}",
    f"resources.num_envs_per_env_runner={SAMPLING['env_copies_per_process']}",
    "resources.num_cpus_per_env_runner=1",
]
STEPS, SUCCESS = METRIC_KEYS["timesteps"], METRIC_KEYS["success_rate"]


def train(overrides: list[str], seconds: float) -> pd.DataFrame:
    """Trains for `seconds`; returns Tune's per-iteration rows."""
    storage = tempfile.mkdtemp(prefix="ppo_throughput_")
    exp = load_experiment(
        ROOT / "tune_configs" / "grid_world_marl_ppo.yaml",
        [
            *overrides,
            *SAME_SAMPLING,
            f"stop.time_total_s={seconds}",
            "stop.timesteps_total=null",
            "stop.metric={}",
            f"storage_path={storage}",
        ],
    )
    summary = run_experiment(exp, verbose=0)
    return pd.read_csv(next(Path(summary.run_dir).glob("*/progress.csv")))


def success(rows: pd.DataFrame, index: int) -> float | None:
    value = rows[SUCCESS].iloc[index] if SUCCESS in rows else float("nan")
    return None if pd.isna(value) else round(float(value), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ours-only", action="store_true", help="skip RLlib (memory runs)")
    args = parser.parse_args()
    connect(None, num_cpus=2)
    memory = MemorySampler(OUR_PPO_PROCESSES)
    memory.start()
    ours = train(["training.extra.updates_per_iteration=1"], args.seconds)
    memory.running = False
    rate = {"ours": float(ours[STEPS].iloc[-1]) / float(ours["time_total_s"].iloc[-1])}
    out: dict = {"ours_env_steps_per_s": round(rate["ours"])}
    if not args.ours_only:
        rllib = train(["algorithm=PPO", "training.extra={}"], args.seconds)
        rate["rllib"] = float(rllib[STEPS].iloc[-1]) / float(rllib["time_total_s"].iloc[-1])
        rllib_steps = int(rllib[STEPS].iloc[-1])
        reached = ours.index[ours[STEPS] >= rllib_steps]
        at = int(reached[0]) if len(reached) else len(ours) - 1
        out |= {
            "rllib_env_steps_per_s": round(rate["rllib"]),
            "ratio": round(rate["ours"] / rate["rllib"], 1),
            "equal_wall_time": {
                "seconds": args.seconds,
                "ours_env_steps": int(ours[STEPS].iloc[-1]),
                "rllib_env_steps": rllib_steps,
                "ours_success_rate": success(ours, -1),
                "rllib_success_rate": success(rllib, -1),
            },
            "equal_env_steps": {
                "env_steps": rllib_steps,
                "ours_env_steps": int(ours[STEPS].iloc[at]),
                "ours_seconds": round(float(ours["time_total_s"].iloc[at]), 1),
                "rllib_seconds": round(float(rllib["time_total_s"].iloc[-1]), 1),
                "ours_success_rate": success(ours, at),
                "rllib_success_rate": success(rllib, -1),
            },
        }
    out |= {"memory_mb": memory.figures(), "sampling": SAMPLING}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
