"""ES scaling on 2 cores, measured in one run.

1. Evaluations per second with 1 worker vs 2 workers (one CPU each) on a CPU-bound env whose
   episodes nearly always run their full length (a 30x30 cooperative grid world, 200 steps),
   so evaluations cost about the same: target speed-up >= 1.7. The two settings alternate
   over several rounds and the totals are compared: this VM's speed drifts by 10-20 % over
   tens of seconds, which one long phase of each would mistake for (lack of) scaling.
2. Bytes exchanged per generation (pickled messages after start-up) for two networks about
   10x apart in parameters: target difference < 10 %.
Prints one JSON line last: {"speedup_2_workers", "bytes_per_generation_small",
"bytes_per_generation_large", ...}.
"""

from __future__ import annotations

import argparse
import json

from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.algorithms.es.config import ESConfig
from marl_ray.algorithms.es.driver import ESDriver
from marl_ray.runner import connect

WARM_UP = 3  # generations before timing: a worker's first ~50 episodes run up to 20 % slower
BASE = dict(
    env="grid_world",
    env_config={"grid_size": 30, "num_agents": 2, "max_steps": 200},
    num_cpus_per_worker=1.0,
    population=40,
    sigma=0.1,
    noise_table_size=5_000_000,
    eval_episodes=0,
)


def run(workers: int, hidden: list[int], generations: int, tag: str) -> dict:
    config = ESConfig(num_workers=workers, network=NetworkConfig(hidden_sizes=hidden), **BASE)
    driver = ESDriver(config, f"es-scaling/{tag}", metrics=None)
    try:
        driver.train(WARM_UP)  # actors start; their first episodes run slower
        return driver.train(generations)
    finally:
        driver.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--generations", type=int, default=10, help="per setting and round")
    args = parser.parse_args()
    connect(None, num_cpus=2)
    seconds = {1: 0.0, 2: 0.0}  # per evaluation, summed over rounds (equal-sized rounds)
    for r in range(args.rounds):
        for workers in (1, 2) if r % 2 == 0 else (2, 1):
            figures = run(workers, [32, 32], args.generations, f"w{workers}-r{r}")
            seconds[workers] += 1.0 / figures["evaluations_per_s"]
            if workers == 2:
                small = figures
    one, two = (args.rounds / seconds[w] for w in (1, 2))
    large = run(2, [120, 120], 2, "large")
    print(
        json.dumps(
            {
                "speedup_2_workers": round(two / one, 2),
                "evaluations_per_s_1_worker": round(one, 1),
                "evaluations_per_s_2_workers": round(two, 1),
                "bytes_per_generation_small": small["bytes_per_generation"],
                "bytes_per_generation_large": large["bytes_per_generation"],
                "parameters_small": small["parameters"],
                "parameters_large": large["parameters"],
            }
        )
    )


if __name__ == "__main__":
    main()
