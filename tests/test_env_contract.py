"""The contract every registered env keeps, through all three views of its one core."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import ENV_CASES
from pettingzoo.test import parallel_api_test
from ray.rllib.utils.pre_checks.env import check_multiagent_environments

import envs

CASE_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(ENV_CASES)]


def test_every_registered_env_has_a_contract_case():
    assert {name for name, _ in ENV_CASES} == set(envs.names())


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_rllib_multi_agent_env_check(name, config):
    env = envs.make_rllib(name, config)
    check_multiagent_environments(env)
    assert env.possible_agents and set(env.observation_spaces) == set(env.possible_agents)


def test_rllib_check_passes_when_the_first_step_ends_the_episode():
    env = envs.make_rllib("grid_world", {"mode": "competitive", "max_steps": 1})
    check_multiagent_environments(env)  # every random step ends an episode here


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_global_state_and_peer_views(name, config):
    for view in ("global_state", "peers"):
        check_multiagent_environments(envs.make_rllib(name, config, view=view))
    copies, steps = _budget(name, 16, 50)
    core = envs.make_batched(name, copies, config)
    core.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        core.step(core.sample_actions(rng))
        state = core.state()
        assert state.dtype == np.float32 and state.shape == (copies, *core.state_space.shape)
        assert np.all(state >= core.state_space.low) and np.all(state <= core.state_space.high)


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_pettingzoo_parallel_api(name, config):
    parallel_api_test(envs.make_parallel(name, config), num_cycles=300)


SLOW = {"pz/pistonball": (2, 30)}
"""Envs whose copies are Python envs stepped one by one (pistonball simulates and renders
every piston each step): at most this many copies and steps in the contract tests."""


def _budget(name: str, copies: int, steps: int) -> tuple[int, int]:
    most_copies, most_steps = SLOW.get(name, (copies, steps))
    return min(copies, most_copies), min(steps, most_steps)


def _random_actions(core, rng, num_envs):
    assert core.num_envs == num_envs
    return core.sample_actions(rng)


def _invalid_action(space):
    return space.n + 7 if isinstance(space, gym.spaces.Discrete) else np.full(space.shape, np.nan)


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_observations_stay_inside_declared_spaces(name, config):
    # Third-party envs step one Python env per copy: fewer copies.
    copies, steps = _budget(name, *((4, 60) if name.startswith("pz/") else (64, 200)))
    core = envs.make_batched(name, copies, config)
    obs, _ = core.reset(seed=3)
    rng = np.random.default_rng(0)
    spaces = [core.observation_spaces[a] for a in core.possible_agents]
    for _ in range(steps):
        out = core.step(_random_actions(core, rng, copies))
        for arr in (out.observations, out.final_observations):
            assert arr.dtype == np.float32
            for i, space in enumerate(spaces):
                view = core.observation_view(arr[:, i])
                boxes = space.spaces if isinstance(space, gym.spaces.Dict) else {"": space}
                parts = view if isinstance(view, dict) else {"": view}
                assert parts.keys() == boxes.keys()
                for key, box in boxes.items():
                    assert np.all(parts[key] >= box.low) and np.all(parts[key] <= box.high)


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_observations_after_an_autoreset_equal_a_full_observation(name, config):
    """`step` (autoreset) and `reset_copies(mask, observations)` (the samplers' path)
    observe only the copies they reset (`_observe_copies`, which an env may override); the
    result must equal observing every copy afresh."""
    copies, steps = _budget(name, *((4, 60) if name.startswith("pz/") else (64, 200)))
    core = envs.make_batched(name, copies, config)
    core.reset(seed=5)
    rng = np.random.default_rng(1)
    resets = 0
    for step in range(steps):
        core.autoreset = step % 2 == 0
        out = core.step(_random_actions(core, rng, copies))
        resets += int(out.done.sum())
        observations = out.observations
        if not core.autoreset and out.done.any():
            observations = core.reset_copies(out.done, observations=out.observations)
        np.testing.assert_array_equal(observations, core.current_observations())
    assert resets > 0 or name.startswith("pz/"), "no copy finished an episode: the test is void"


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_seeded_runs_are_identical(name, config):
    copies, steps = _budget(name, 8, 100)

    def run():
        core = envs.make_batched(name, copies, config)
        obs, _ = core.reset(seed=11)
        rng = np.random.default_rng(5)
        trace = [obs]
        for _ in range(steps):
            out = core.step(_random_actions(core, rng, copies))
            trace += [out.observations, out.rewards, out.terminated, out.truncated]
        return trace

    for a, b in zip(run(), run(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_batched_copies_equal_single_env_adapters(name, config):
    """Copy i of a batch seeded [s_0..s_3] follows the PettingZoo env seeded s_i, auto-resets
    included: the adapters add no dynamics of their own. Agents are matched to the core's
    slots by id, so envs whose agents join and leave are checked the same way."""
    seeds = [21, 22, 23, 24]
    core = envs.make_batched(name, len(seeds), config)
    obs, _ = core.reset(seed=seeds)
    singles = [envs.make_parallel(name, config) for _ in seeds]
    single_obs = [env.reset(seed=s)[0] for env, s in zip(singles, seeds, strict=True)]
    rng = np.random.default_rng(9)
    episodes_ended = joined = 0
    for _ in range(_budget(name, len(seeds), 150)[1]):
        actions = _random_actions(core, rng, len(seeds))
        slots = [_slots(core, e) for e in range(len(seeds))]
        out = core.step(actions)
        for e, env in enumerate(singles):
            assert set(single_obs[e]) == set(slots[e]) == set(env.agents)
            for a, i in slots[e].items():
                _assert_same_obs(core, single_obs[e][a], obs[e, i])
            o, r, term, trunc, info = env.step({a: actions[e, i] for a, i in slots[e].items()})
            for a, i in slots[e].items():
                _assert_same_obs(core, o[a], out.final_observations[e, i])
                assert r[a] == pytest.approx(float(out.rewards[e, i]))
                assert term[a] == out.terminated[e, i] and trunc[a] == out.truncated[e, i]
            assert (not env.agents) == bool(out.done[e])
            if out.done[e]:
                episodes_ended += 1
                o, _ = env.reset()
            else:
                newcomers = set(o) - set(slots[e])
                joined += len(newcomers)
                for a in newcomers:
                    _assert_same_obs(core, o[a], out.observations[e, _slots(core, e)[a]])
            single_obs[e] = {a: o[a] for a in env.agents}
        obs = out.observations
    assert episodes_ended > 0, "the test never crossed an auto-reset"
    if core.dynamic_agents and config.get("scenario") != "platoon":
        assert joined > 0, "no agent joined during an episode"


def _slots(core, e: int) -> dict[str, int]:
    """Agent id -> slot for the agents in copy `e` now."""
    ids, active = core.slot_agent_ids(e), core.active()[e]
    return {ids[i]: i for i in range(core.num_agents) if active[i]}


def _assert_same_obs(core, single, row):
    """An adapter's observation equals the core's row, seen through the core's view."""
    view = core.observation_view(row)
    if isinstance(view, dict):
        assert single.keys() == view.keys()
        for key in view:
            np.testing.assert_array_equal(single[key], view[key])
    else:
        np.testing.assert_array_equal(single, view)


@pytest.mark.parametrize("name", envs.names())
def test_unknown_config_key_lists_allowed_keys(name):
    with pytest.raises(envs.ConfigError, match="unknown key env.config.no_such_key; allowed"):
        envs.make_batched(name, 1, {"no_such_key": 1})


def test_unknown_env_lists_registered_envs():
    with pytest.raises(envs.UnknownEnvError, match="registered envs: .*grid_world"):
        envs.make_rllib("no_such_env")


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_invalid_actions_are_rejected_with_the_allowed_range(name, config):
    env = envs.make_rllib(name, config)
    env.reset(seed=0)
    agents = list(env.agents)  # every possible agent, unless agents join later
    valid = {a: env.action_spaces[a].sample() for a in agents}
    for bad_agent in agents:
        with pytest.raises(envs.EnvActionError, match="allowed"):
            env.step({**valid, bad_agent: _invalid_action(env.action_spaces[bad_agent])})
    with pytest.raises(envs.EnvActionError, match="no action given"):
        env.step({agents[0]: valid[agents[0]]})
    with pytest.raises(envs.EnvActionError, match="unknown agent"):
        env.step({**valid, "intruder": valid[agents[0]]})
    core = envs.make_batched(name, 2, config)
    core.reset(seed=0)
    with pytest.raises(envs.EnvActionError, match="shape"):
        core.step(envs.make_batched(name, 3, config).sample_actions(np.random.default_rng(0)))


@pytest.mark.parametrize("name,config", ENV_CASES, ids=CASE_IDS)
def test_rgb_array_render(name, config):
    core = envs.make_batched(name, 1, config, render_mode="rgb_array")
    core.reset(seed=0)
    frame = core.render(0)
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 2  # more than a blank grid
