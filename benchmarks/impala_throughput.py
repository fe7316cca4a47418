"""Throughput: marl_ray's IMPALA vs RLlib's IMPALA on the same cooperative grid world.

On the same local Ray (2 CPUs), each side trains for the same wall time (60 s by default)
from tune_configs/impala_grid_world.yaml with the same sampling: ONE sampling process (our
one rollout actor, RLlib's one env runner) stepping the same number of env copies (64), the
same network, learning rate and gradient clip, and the same batch: RLlib's IMPALA samples
64 copies x 50 steps (its rollout fragment) and updates once per sample, so ours here
rolls 50 steps and updates on one such rollout (3,200 env steps per update on both sides;
the experiment file's own 2 x 20-step rollouts are for training, not for this comparison).
The learner sits in its own process for ours (0.5 CPU) and in the trial process for RLlib's.
Env steps per second = env steps sampled / training time.

Every side trains once per seed in `--seeds` (3 by default). Learning is compared at equal
wall time (each side's last row) and at equal env steps (ours at the first row where it has
sampled as many env steps as RLlib did in total on that seed). Success rates: the
100-episode training means Tune recorded, and each side's policy on the same seeded
evaluation episodes (`throughput_comparison`); over seeds, means with 95 % bootstrap
intervals and P(ours > RLlib) at equal env steps.

Prints one JSON line per seed, then one last: {"seeds", "ours_env_steps_per_s",
"rllib_env_steps_per_s", "ratio", "success_at_equal_env_steps": {"training", "sampled",
"greedy"}, "runs"}.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from throughput_comparison import SAMPLING, STEPS, compare, success_over_seeds, train

from marl_ray.runner import connect
from marl_ray.stats import mean_interval

CONFIG = "impala_grid_world.yaml"
RLLIB_FRAGMENT = 50  # RLlib IMPALA's default rollout_fragment_length
SAME_BATCH = [
    f"training.extra.rollout_length={RLLIB_FRAGMENT}",
    "training.extra.batch_trajectories=1",
]
RLLIB = ["algorithm=IMPALA", "training.extra={}", "training.grad_clip=40.0"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    connect(None, num_cpus=2)
    runs = []
    for seed in args.seeds:
        ours_settings = [*SAME_BATCH, f"seed={seed}"]
        ours = train(CONFIG, ours_settings, args.seconds)
        rllib = train(CONFIG, [*RLLIB, f"seed={seed}"], args.seconds)
        at_steps = train(CONFIG, ours_settings, env_steps=int(rllib.rows[STEPS].iloc[-1]))
        runs.append({"seed": seed, **compare(ours, rllib, args.seconds, at_steps)})
        print(json.dumps(runs[-1]), flush=True)
    rates = {side: [r[f"{side}_env_steps_per_s"] for r in runs] for side in ("ours", "rllib")}
    summary = {
        "seeds": args.seeds,
        "seconds": args.seconds,
        "env_steps_per_update": SAMPLING["env_copies_per_process"] * RLLIB_FRAGMENT,
        **{f"{side}_env_steps_per_s": mean_interval(v) for side, v in rates.items()},
        "ratio": round(float(np.mean(rates["ours"]) / np.mean(rates["rllib"])), 1),
        "success_at_equal_env_steps": success_over_seeds(runs),
        "runs": runs,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
