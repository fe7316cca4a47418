"""Contract checks for any env `env.name` can name: what `marl-ray check-env` runs.

The checks drive the env through its own API (seen as per-agent dicts, `envs.foreign.DictCopy`)
with seeded random actions, then through the views the algorithms use (RLlib's multi-agent
env check, PettingZoo's parallel API test), and time the batched core. Each check gives a
line: passed or what failed and why.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from envs import plugins, registry
from envs.foreign import PZ_OBS_KEY, DictCopy, ParallelCopy, RLlibCopy, dict_copy, has_action_masks
from envs.schema import ConfigError


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


class Failed(Exception):
    """A check found a contract violation; the message says which and where."""


def _make_copy(name: str, config: Mapping[str, Any]) -> DictCopy:
    """One env as its own API presents it (ours through our PettingZoo view)."""
    obj = None if registry.is_builtin(name) else plugins.resolve(name)
    if obj is None or plugins.batched_class(obj) is not None:
        copy = ParallelCopy(registry.make_parallel(name, config))
        copy.api = "marl_ray BatchedEnv (through its PettingZoo view)"
        return copy
    return dict_copy(plugins.make_user_env(name, config))


def _contains(space, value) -> bool:
    try:
        return bool(space.contains(value))
    except Exception:  # a value the space cannot even compare (wrong type or shape)
        return False


def _describe(value: Any) -> str:
    arr = np.asarray(value) if not isinstance(value, dict) else None
    if arr is None:
        return f"dict with keys {sorted(value)}"
    return f"{arr.dtype} array of shape {arr.shape}, range [{arr.min():.3g}, {arr.max():.3g}]"


def _actions(copy: DictCopy, agents, rng: np.random.Generator, obs: dict) -> dict[str, Any]:
    out = {}
    for a in agents:
        space = copy.action_spaces[a]
        space.seed(int(rng.integers(2**31)))
        mask = None
        value = obs.get(a)
        if isinstance(value, dict) and "action_mask" in value:
            mask = np.asarray(value["action_mask"], dtype=np.int8)
        out[a] = space.sample(mask) if mask is not None and mask.any() else space.sample()
    return out


def _episodes(copy: DictCopy, episodes: int, seed: int, max_steps: int) -> list[tuple]:
    """Random-action episodes under `seed`, checking every step; returns the trajectory."""
    rng = np.random.default_rng(seed)
    trajectory = []
    for episode in range(episodes):
        obs, _ = copy.reset(seed=seed + episode)
        _check_obs(copy, obs, f"reset of episode {episode}")
        live = set(obs)
        finished: set[str] = set()
        for t in range(max_steps):
            actions = _actions(copy, sorted(live), rng, obs)
            obs, rewards, term, trunc, _, all_done = copy.step(actions)
            where = f"episode {episode}, step {t}"
            _check_obs(copy, obs, where)
            for a, r in rewards.items():
                if not np.isfinite(np.asarray(r, dtype=np.float64)).all():
                    raise Failed(f"{where}: reward of {a} is {r} (not finite)")
            late = sorted(set(obs) & finished)
            if late:
                raise Failed(f"{where}: {late} got observations after their episode ended")
            done = {a for a in obs if term.get(a, False) or trunc.get(a, False)}
            vanished = sorted(live - set(obs) - done) if not all_done else []
            if vanished and isinstance(copy, ParallelCopy):
                raise Failed(
                    f"{where}: {vanished} left the env's agents without terminated or "
                    "truncated set for them"
                )
            finished |= done
            trajectory.append(
                (
                    {a: np.asarray(_obs_part(o)).tobytes() for a, o in sorted(obs.items())},
                    {a: float(r) for a, r in sorted(rewards.items())},
                    sorted(done),
                )
            )
            live = set(obs) - finished
            if all_done or not live:
                break
    return trajectory


def _obs_part(value: Any) -> Any:
    return value[PZ_OBS_KEY] if isinstance(value, dict) and PZ_OBS_KEY in value else value


def _check_obs(copy: DictCopy, obs: dict, where: str) -> None:
    for a, value in obs.items():
        if a not in copy.observation_spaces:
            raise Failed(f"{where}: observation for unknown agent {a!r}")
        space = copy.observation_spaces[a]
        if not _contains(space, value):
            raise Failed(
                f"{where}: observation of {a} ({_describe(_obs_part(value))}) is outside its "
                f"declared space {space}"
            )


def _rllib_check(name: str, config: Mapping[str, Any]) -> None:
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    check_multiagent_environments(registry.make_rllib(name, config))


def _pettingzoo_check(name: str, config: Mapping[str, Any]) -> None:
    from pettingzoo.test import parallel_api_test

    with contextlib.redirect_stdout(io.StringIO()):
        parallel_api_test(registry.make_parallel(name, config), num_cycles=50)


def _pettingzoo_native(name: str, config: Mapping[str, Any]) -> str:
    """PettingZoo's own API test on a fresh copy of the user's env (AEC or parallel)."""
    from pettingzoo.test import api_test, parallel_api_test
    from pettingzoo.utils.env import AECEnv

    env = plugins.make_user_env(name, config)
    with contextlib.redirect_stdout(io.StringIO()):
        if isinstance(env, AECEnv):
            api_test(env, num_cycles=50)
            return "AEC API test"
        parallel_api_test(env, num_cycles=50)
    return "parallel API test"


def _native_all_keys(copy: DictCopy) -> None:
    """An RLlib env must report `__all__` in both done dicts."""
    env = copy.env
    env.reset(seed=0)
    agents = list(copy.possible_agents)
    live = set(getattr(env, "agents", None) or agents)
    actions = {a: copy.action_spaces[a].sample() for a in agents if a in live}
    _, _, term, trunc, _ = env.step(actions)
    missing = [
        d for d, flags in (("terminated", term), ("truncated", trunc)) if "__all__" not in flags
    ]
    if missing:
        raise Failed(f"the {' and '.join(missing)} dict(s) lack the '__all__' key")


def _legal_actions(core, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random actions, within each agent's action mask where its observations carry one."""
    actions = core.sample_actions(rng)
    for i in range(core.num_agents):
        view = core.observation_view(obs[:, i], i)
        if isinstance(view, dict) and "action_mask" in view:
            for e, mask in enumerate(view["action_mask"]):
                legal = np.flatnonzero(mask)
                if legal.size:
                    actions[e, i] = rng.choice(legal)
    return actions


def _speed(name: str, config: Mapping[str, Any], seconds: float = 1.0) -> float:
    core = registry.make_batched(name, 8, config)
    obs, _ = core.reset(seed=0)
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        obs = core.step(_legal_actions(core, obs, rng)).observations
        steps += core.num_envs
    return steps / (time.perf_counter() - start)


def check_env(
    name: str,
    config: Mapping[str, Any] | None = None,
    episodes: int = 3,
    max_steps: int = 500,
    speed_seconds: float = 1.0,
) -> tuple[list[CheckResult], dict[str, Any]]:
    """Every check on env `name`; returns the results and facts (API, agents, steps/s timed
    over `speed_seconds`)."""
    config = dict(config or {})
    results: list[CheckResult] = []
    facts: dict[str, Any] = {"env": name}

    def run(label: str, fn: Callable[[], str | None]) -> bool:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                detail = fn() or ""
            results.append(CheckResult(label, True, detail))
            return True
        except (Failed, ConfigError, AssertionError, ValueError, TypeError, KeyError) as exc:
            results.append(CheckResult(label, False, f"{type(exc).__name__}: {exc}"))
            return False

    holder: dict[str, DictCopy] = {}

    def build() -> str:
        holder["copy"] = copy = _make_copy(name, config)
        facts["api"] = copy.api
        facts["agents"] = list(copy.possible_agents)
        return f"{copy.api}; agents {', '.join(copy.possible_agents)}"

    if not run("builds", build):
        return results, facts
    copy = holder["copy"]

    def trajectory_check() -> str:
        holder["first"] = _episodes(copy, episodes, seed=7, max_steps=max_steps)
        return f"{episodes} episodes, {len(holder['first'])} steps"

    ok = run(
        "observations in declared spaces, finite rewards, done agents stay done", trajectory_check
    )

    def determinism() -> str:
        other = _make_copy(name, config)
        again = _episodes(other, episodes, seed=7, max_steps=max_steps)
        first = holder["first"]
        for t, (a, b) in enumerate(zip(first, again, strict=False)):
            if a != b:
                raise Failed(f"step {t} differs between two runs with the same seed and actions")
        if len(first) != len(again):
            raise Failed(f"episode lengths differ ({len(first)} vs {len(again)} steps)")
        return "same seed, same actions: same trajectory"

    if ok:
        run("seeded determinism", determinism)
    if isinstance(copy, RLlibCopy):
        run("__all__ keys", lambda: _native_all_keys(copy))
    if copy.api.startswith("PettingZoo"):
        run("PettingZoo API test (the env itself)", lambda: _pettingzoo_native(name, config))
    if has_action_masks(copy.observation_spaces):
        results.append(
            CheckResult(
                "RLlib multi-agent env check (our view)",
                True,
                "skipped: it samples actions without the action masks this env needs",
            )
        )
    else:
        run("RLlib multi-agent env check (our view)", lambda: _rllib_check(name, config))
    run("PettingZoo parallel API test (our view)", lambda: _pettingzoo_check(name, config))

    def speed() -> str:
        facts["steps_per_second"] = round(_speed(name, config, speed_seconds), 1)
        return f"{facts['steps_per_second']:,.0f} env steps/s (8 copies, random actions)"

    run("steps per second", speed)
    return results, facts


def report(results: list[CheckResult], facts: dict[str, Any]) -> dict[str, Any]:
    return {
        **facts,
        "passed": all(r.passed for r in results),
        "checks": [asdict(r) for r in results],
    }
