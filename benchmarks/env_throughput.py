"""Env speed: the batched numpy core (1024 copies) vs the RLlib adapter, random actions.

Both are measured in this run on one core (BLAS threads pinned to 1). Agent steps count the
agents present (vehicles: those in the control zone). Beside our envs, mpe2's own
simple_spread ParallelEnv is timed alone and through our pz/simple_spread adapter. Prints one
JSON line last: {env: {"batched_agent_steps_per_s", "adapter_agent_steps_per_s", "ratio"},
"mpe2_simple_spread": {"mpe2_parallel_env_agent_steps_per_s", "adapter_agent_steps_per_s",
"ratio"}}.
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
    agent_steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for actions in pool:
            if core.dynamic_agents:
                agent_steps += int(core.active().sum())
            core.step(actions)
        if not core.dynamic_agents:
            agent_steps += len(pool) * num_envs * core.num_agents
    return agent_steps / (time.perf_counter() - start)


def adapter_speed(name: str, seconds: float) -> float:
    env = envs.make_rllib(name)
    obs, _ = env.reset(seed=0)
    acting = list(obs)
    sampler = envs.make_batched(name, 1)
    rng = np.random.default_rng(0)
    pool = [sampler.sample_actions(rng)[0] for _ in range(256)]  # one action per slot
    agent_steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for row in pool:
            actions = {a: row[k % len(row)] for k, a in enumerate(acting)}
            obs, _, term, trunc, _ = env.step(actions)
            agent_steps += len(actions)
            # RLlib's contract: agents reported done act no more; newcomers act next.
            acting = [a for a in obs if not (term.get(a) or trunc.get(a))]
            if term["__all__"] or trunc["__all__"]:
                obs, _ = env.reset()
                acting = list(obs)
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
    own = mpe2_speed(args.seconds)
    adapter = adapter_speed("pz/simple_spread", args.seconds)
    report["mpe2_simple_spread"] = {
        "mpe2_parallel_env_agent_steps_per_s": round(own),
        "adapter_agent_steps_per_s": round(adapter),
        "ratio": round(adapter / own, 2),
    }
    print(
        f"mpe2 simple_spread: own ParallelEnv {own:,.0f}, through pz/simple_spread {adapter:,.0f}"
    )
    print(json.dumps(report))


def mpe2_speed(seconds: float) -> float:
    """mpe2's simple_spread_v3 ParallelEnv (N=3) on its own, random actions."""
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(N=3, max_cycles=25)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    agent_steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        actions = {a: int(rng.integers(5)) for a in env.agents}
        env.step(actions)
        agent_steps += len(actions)
        if not env.agents:
            env.reset()
    return agent_steps / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
