"""ES scaling on 2 cores, measured in one run.

1. Evaluations per second with 1 worker vs 2 workers (one CPU each) on a CPU-bound env whose
   episodes nearly always run their full length (a 30x30 cooperative grid world, 200 steps),
   so evaluations cost about the same: target speed-up >= 1.7.
2. Bytes exchanged per generation (pickled messages after start-up) for two networks about
   10x apart in parameters: target difference < 10 %.
Prints one JSON line last: {"speedup_2_workers", "bytes_per_generation_small",
"bytes_per_generation_large", ...}.
"""

from __future__ import annotations

import json

from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.algorithms.es.config import ESConfig
from marl_ray.algorithms.es.driver import ESDriver
from marl_ray.runner import connect

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
        driver.train(1)  # warm-up: actors start, noise table mapped
        return driver.train(generations)
    finally:
        driver.stop()


def main() -> None:
    connect(None, num_cpus=2)
    one = run(1, [32, 32], 15, "one")
    two = run(2, [32, 32], 15, "two")
    large = run(2, [120, 120], 2, "large")
    print(
        json.dumps(
            {
                "speedup_2_workers": round(two["evaluations_per_s"] / one["evaluations_per_s"], 2),
                "evaluations_per_s_1_worker": round(one["evaluations_per_s"], 1),
                "evaluations_per_s_2_workers": round(two["evaluations_per_s"], 1),
                "bytes_per_generation_small": two["bytes_per_generation"],
                "bytes_per_generation_large": large["bytes_per_generation"],
                "parameters_small": two["parameters"],
                "parameters_large": large["parameters"],
            }
        )
    )


if __name__ == "__main__":
    main()
