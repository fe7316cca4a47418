"""Throughput: marl_ray's IMPALA vs RLlib's IMPALA on the same cooperative grid world.

In one run, on the same local Ray (2 CPUs), each trains for the same wall time (60 s by
default) from tune_configs/impala_grid_world.yaml with the same sampling: ONE sampling
process (our one rollout actor, RLlib's one env runner) stepping the same number of env
copies (64), the same network, learning rate and gradient clip; the learner sits in its
own process for ours (0.5 CPU) and in the trial process for RLlib's.
Env steps per second = env steps sampled / training time.

Learning is compared both ways: at equal wall time (each side's last row) and at equal env
steps (ours at the first row where it has sampled as many env steps as RLlib did in total,
with the time it took). Success rates: the 100-episode training means Tune recorded, and each
side's policy on the same seeded evaluation episodes (`throughput_comparison`).

Prints one JSON line last: {"ours_env_steps_per_s", "rllib_env_steps_per_s", "ratio",
"equal_wall_time": {...}, "equal_env_steps": {...}, "sampling": {...}}.
"""

from __future__ import annotations

import argparse
import json

from throughput_comparison import STEPS, compare, train

from marl_ray.runner import connect

CONFIG = "impala_grid_world.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    connect(None, num_cpus=2)
    ours = train(CONFIG, [], args.seconds)
    rllib = train(
        CONFIG, ["algorithm=IMPALA", "training.extra={}", "training.grad_clip=40.0"], args.seconds
    )
    ours_at_rllib_steps = train(CONFIG, [], env_steps=int(rllib.rows[STEPS].iloc[-1]))
    print(json.dumps(compare(ours, rllib, args.seconds, ours_at_rllib_steps)))


if __name__ == "__main__":
    main()
