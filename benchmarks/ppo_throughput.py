"""Throughput: marl_ray's distributed PPO (MARL_PPO) vs RLlib's PPO on the same grid world.

In one run, on the same local Ray (2 CPUs), each trains for the same wall time (60 s by
default) from tune_configs/grid_world_marl_ppo.yaml (2 agents, 5x5, one shared policy) with
the same sampling: ONE sampling process (our one worker, RLlib's one env runner) stepping the
same number of env copies (64), the same network ([64, 64] actor and critic), train batch
(4096 env steps), minibatch (2048), epochs (4), learning rate, clip and entropy coefficient;
the learner sits in its own process for ours (0.5 CPU; the critic's loss on a second
thread, `parallel_critic`) and in the trial process for RLlib's.
RLlib's PPO is synchronous (sample, then learn); ours runs in each of `--modes`: `sync` (the
same) and `lookahead` (the next batch is sampled while the learner updates: policy lag 1).
Env steps per second = env steps sampled / training time
(Tune's `time_total_s`, the iterations' time: each side's setup, which waits until its
actors have started, is outside it).

Every side trains once per seed in `--seeds` (3 by default). Learning is compared at equal
wall time (each side's last row) and at equal env steps (ours at the first row where it has
sampled as many env steps as RLlib did in total on that seed). Success rates: the
100-episode training means Tune recorded, and each side's policy on the same 500 seeded
evaluation episodes with sampled and with greedy actions (at equal env steps, ours from a
second run stopped at RLlib's total; `throughput_comparison`). Over seeds: means with 95 %
bootstrap intervals and P(ours > RLlib) at equal env steps.

Per run, the median update's learner time (`update_ms`, in the learner actor) and the slowest
worker's sampling time per batch (`sample_ms`): synchronously they add up, with lookahead the
larger bounds the rate.

Memory: the resident set size (RSS) of our trial's processes (trial, learner, worker) is
sampled every second during our first run of each mode: the peak, and the growth from the
run's second tenth (the first is the processes starting) to its end.

Prints one JSON line last: {"seeds", "rllib_env_steps_per_s", "modes": {mode:
{"env_steps_per_s", "ratio", "success_at_equal_env_steps": {"training", "sampled",
"greedy"}, "memory_mb"}}, "runs"}: each of the three with "ours", "rllib" and
"p_ours_over_rllib".
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from memory import OUR_PPO_PROCESSES, MemorySampler
from throughput_comparison import STEPS, Run, compare, rate, success_over_seeds, train

from marl_ray.runner import connect
from marl_ray.stats import mean_interval

CONFIG = "grid_world_marl_ppo.yaml"
MODES = ("sync", "lookahead")


def ours_overrides(mode: str, seed: int) -> list[str]:
    extra = f"training.extra={{updates_per_iteration: 1, lookahead: {mode == 'lookahead'}}}"
    return [extra, f"seed={seed}"]


def train_ours(mode: str, seed: int, seconds: float, memory: MemorySampler | None) -> Run:
    if memory:
        memory.start()
    run = train(CONFIG, ours_overrides(mode, seed), seconds)
    if memory:
        memory.running = False
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--ours-only", action="store_true", help="skip RLlib (memory runs)")
    args = parser.parse_args()
    connect(None, num_cpus=2)
    memory = {mode: MemorySampler(OUR_PPO_PROCESSES) for mode in args.modes}
    runs: list[dict] = []
    for seed in args.seeds:
        rllib = None
        if not args.ours_only:
            rllib = train(
                CONFIG, ["algorithm=PPO", "training.extra={}", f"seed={seed}"], args.seconds
            )
        for mode in args.modes:
            sampler = memory[mode] if memory[mode].ident is None else None  # not yet started
            ours = train_ours(mode, seed, args.seconds, sampler)
            run = {
                "seed": seed,
                "mode": mode,
                "ours_env_steps_per_s": round(rate(ours.rows)),
                **{  # where our time goes: the median iteration's (one update each)
                    f"{name}_ms": round(1000 * float(ours.rows[f"learners/{name}_s"].median()), 1)
                    for name in ("update", "sample")
                },
            }
            if rllib is not None:
                rllib_steps = int(rllib.rows[STEPS].iloc[-1])
                at_steps = train(CONFIG, ours_overrides(mode, seed), env_steps=rllib_steps)
                run.update(compare(ours, rllib, args.seconds, at_steps))
            runs.append(run)
            print(json.dumps(run), flush=True)
    print(json.dumps(summary(args, runs, memory)))


def summary(args, runs: list[dict], memory: dict[str, MemorySampler]) -> dict:
    out: dict = {"seeds": args.seeds, "seconds": args.seconds, "modes": {}}
    rllib_rates = [r["rllib_env_steps_per_s"] for r in runs if r["mode"] == args.modes[0]]
    if rllib_rates:
        out["rllib_env_steps_per_s"] = mean_interval(rllib_rates)
    for mode in args.modes:
        mine = [r for r in runs if r["mode"] == mode]
        figures = {
            "env_steps_per_s": mean_interval([r["ours_env_steps_per_s"] for r in mine]),
            "memory_mb": memory[mode].figures(),
        }
        if rllib_rates:
            figures["ratio"] = round(
                float(np.mean([r["ours_env_steps_per_s"] for r in mine]) / np.mean(rllib_rates)),
                1,
            )
            figures["success_at_equal_env_steps"] = success_over_seeds(mine)
        out["modes"][mode] = figures
    out["runs"] = runs
    return out


if __name__ == "__main__":
    main()
