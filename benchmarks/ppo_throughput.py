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
sampled every second during our run: the peak, and the growth from the run's second tenth
(the first is the processes starting) to its end. `--lookahead`: ours samples the next batch
while the learner updates (policy lag 1).

Prints one JSON line last: {"ours_env_steps_per_s", "rllib_env_steps_per_s", "ratio",
"equal_wall_time", "equal_env_steps", "memory_mb", "sampling"}.
"""

from __future__ import annotations

import argparse
import json

from memory import OUR_PPO_PROCESSES, MemorySampler
from throughput_comparison import STEPS, compare, train

from marl_ray.runner import connect

CONFIG = "grid_world_marl_ppo.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ours-only", action="store_true", help="skip RLlib (memory runs)")
    parser.add_argument(
        "--lookahead",
        action="store_true",
        help="ours samples the next batch while the learner updates (policy lag 1)",
    )
    args = parser.parse_args()
    connect(None, num_cpus=2)
    memory = MemorySampler(OUR_PPO_PROCESSES)
    memory.start()
    lookahead = str(args.lookahead).lower()
    extra = f"training.extra={{updates_per_iteration: 1, lookahead: {lookahead}}}"
    ours = train(CONFIG, [extra], args.seconds)
    memory.running = False
    if args.ours_only:
        rate = float(ours[STEPS].iloc[-1]) / float(ours["time_total_s"].iloc[-1])
        out = {"ours_env_steps_per_s": round(rate)}
    else:
        out = compare(
            ours, train(CONFIG, ["algorithm=PPO", "training.extra={}"], args.seconds), args.seconds
        )
    print(json.dumps({**out, "lookahead": args.lookahead, "memory_mb": memory.figures()}))


if __name__ == "__main__":
    main()
