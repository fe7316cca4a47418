"""Env speed: the batched numpy core (1024 copies) vs the RLlib adapter, random actions.

Both are measured in this run on one core (BLAS threads pinned to 1). Prints one JSON line
last: {env: {"batched_agent_steps_per_s", "adapter_agent_steps_per_s", "ratio"}}.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import envs  # noqa: E402


def batched_speed(name: str, num_envs: int, seconds: float) -> float:
    core = envs.make_batched(name, num_envs)
    core.reset(seed=0)
    rng = np.random.default_rng(0)
    pool = [core.sample_actions(rng) for _ in range(64)]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for actions in pool:
            core.step(actions)
        steps += len(pool)
    return steps * num_envs * core.num_agents / (time.perf_counter() - start)


def adapter_speed(name: str, seconds: float) -> float:
    env = envs.make_rllib(name)
    env.reset(seed=0)
    sampler = envs.make_batched(name, 1)
    rng = np.random.default_rng(0)
    pool = [
        dict(zip(env.possible_agents, sampler.sample_actions(rng)[0], strict=True))
        for _ in range(256)
    ]
    agent_steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for joint in pool:
            actions = {a: joint[a] for a in env.agents}
            _, _, term, trunc, _ = env.step(actions)
            agent_steps += len(actions)
            if term["__all__"] or trunc["__all__"]:
                env.reset()
    return agent_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--env", action="append", help="env names (default: all)")
    args = parser.parse_args()
    report = {}
    # Our numpy cores; the pz/ envs step one third-party env per copy (no fast path).
    for name in args.env or [n for n in envs.names() if not n.startswith("pz/")]:
        batched = batched_speed(name, args.num_envs, args.seconds)
        adapter = adapter_speed(name, args.seconds)
        report[name] = {
            "batched_agent_steps_per_s": round(batched),
            "adapter_agent_steps_per_s": round(adapter),
            "ratio": round(batched / adapter, 1),
        }
        print(f"{name}: batched {batched:,.0f} agent-steps/s, RLlib adapter {adapter:,.0f}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
