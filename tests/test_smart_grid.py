"""Smart grid physics: energy balance, storage limits, the price rule, the baseline."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.smart_grid import SHIFT


def _actions(core, thermal=0.0, renewable=1.0, consumer=0.0, storage=0.0):
    a = np.zeros((core.num_envs, core.num_agents, 1), dtype=np.float32)
    for key, value in (("thermal", thermal), ("renewable", renewable)):
        a[:, core.slices[key]] = value
    a[:, core.slices["consumer"]] = consumer
    a[:, core.slices["storage"]] = storage
    return a


def test_state_of_charge_stays_in_bounds_and_an_empty_battery_delivers_nothing():
    core = envs.make_batched("smart_grid", 32, {"initial_soc": 0.0})
    core.reset(seed=0)
    rng = np.random.default_rng(1)
    out = core.step(_actions(core, storage=1.0))  # discharge an empty battery
    assert np.all(core.soc == 0.0)
    for _ in range(200):
        a = rng.uniform(-1, 1, (32, core.num_agents, 1)).astype(np.float32)
        out = core.step(a)
        assert np.all(core.soc >= 0.0) and np.all(core.soc <= core.config.storage_energy + 1e-9)
    assert np.isfinite(out.rewards).all()


def test_storage_energy_accounting_includes_efficiency():
    core = envs.make_batched("smart_grid", 1, {"initial_soc": 0.5, "storage_efficiency": 0.9})
    core.reset(seed=0)
    before = core.soc.copy()
    core.step(_actions(core, storage=-0.5))  # charge 10 MW for one hour
    np.testing.assert_allclose(core.soc - before, 10.0 * 0.9)
    before = core.soc.copy()
    core.step(_actions(core, storage=0.5))  # discharge 10 MW for one hour
    np.testing.assert_allclose(before - core.soc, 10.0 / 0.9)


def test_supply_and_demand_balance_into_served_and_unserved_energy():
    core = envs.make_batched("smart_grid", 16, {})
    core.autoreset = False  # read the day's last state before any reset
    core.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(24):
        demand = core.demand_now().sum(1)
        soc_before = core.soc.copy()
        backlog_before = core.backlog.copy()
        a = rng.uniform(-1, 1, (16, core.num_agents, 1)).astype(np.float32)
        out = core.step(a)
        supply = core.thermal_output.sum(1) + core.renewable_used.sum(1)
        discharge = np.maximum(soc_before - core.soc, 0).sum(1) * core.config.storage_efficiency
        charge = np.maximum(core.soc - soc_before, 0).sum(1) / core.config.storage_efficiency
        consumption = demand - (core.backlog - backlog_before).sum(1) / core.config.dt
        np.testing.assert_allclose(
            out.infos["imbalance"], supply + discharge - consumption - charge, rtol=1e-4, atol=1e-3
        )
        short = np.maximum(consumption + charge - supply - discharge, 0)
        last = out.done
        # Unserved energy: the shortfall's share that falls on consumers (plus the backlog
        # shed at the day's end).
        assert np.all(out.infos["unserved_energy"][~last] <= short[~last] + 1e-3)
        assert np.all(out.infos["unserved_energy"] >= -1e-6)


def test_price_follows_scarcity():
    core = envs.make_batched("smart_grid", 1, {})
    core.reset(seed=0)
    demand = core.demand_now().sum()
    scarce = core.step(_actions(core, thermal=-1.0, renewable=-1.0)).infos["price"][0]
    # The thermal unit ramps down 15 MW from 25 MW; the night has no sun, storage is idle.
    assert scarce == pytest.approx(50.0 * (demand / 10.0) ** 2, rel=1e-5)
    core.reset(seed=0)
    plenty = core.step(_actions(core, thermal=1.0, renewable=1.0)).infos["price"][0]
    assert plenty == pytest.approx(50.0 * (demand / 40.0) ** 2, rel=1e-5)
    assert plenty < core.config.reference_price < scarce


def test_demand_response_defers_and_catches_up():
    core = envs.make_batched("smart_grid", 1, {})
    core.reset(seed=0)
    demand = core.demand_now()
    core.step(_actions(core, consumer=-1.0))
    np.testing.assert_allclose(core.backlog, SHIFT * demand * core.config.dt)
    core.step(_actions(core, consumer=1.0))
    assert np.all(core.backlog < SHIFT * demand * core.config.dt)


@pytest.mark.parametrize("reward", ["individual", "team"])
def test_sum_of_rewards_is_the_welfare_and_baseline_beats_random(reward):
    core = envs.make_batched("smart_grid", 64, {"reward": reward})

    def day(policy):
        core.reset(seed=5)
        rng, total = np.random.default_rng(0), np.zeros(64)
        for _ in range(core.config.steps_per_day):
            out = core.step(policy(rng))
            np.testing.assert_allclose(
                out.rewards.sum(1), out.infos["welfare"] * core.config.reward_scale, rtol=1e-4
            )
            total += out.infos["welfare"]
            if reward == "team":
                np.testing.assert_allclose(out.rewards, out.rewards[:, :1].repeat(6, 1), rtol=1e-6)
        assert out.done.all()
        return total.mean()

    baseline = day(lambda rng: core.baseline_actions())
    random = day(lambda rng: rng.uniform(-1, 1, (64, core.num_agents, 1)).astype(np.float32))
    assert baseline > 0 > random


def test_action_bins_map_onto_the_same_dynamics():
    binned = envs.make_batched("smart_grid", 4, {"action_bins": 3})
    smooth = envs.make_batched("smart_grid", 4, {})
    binned.reset(seed=2)
    smooth.reset(seed=2)
    for _ in range(5):
        a = binned.baseline_actions()
        out_b = binned.step(a)
        out_s = smooth.step(np.linspace(-1, 1, 3)[a][..., None].astype(np.float32))
        np.testing.assert_allclose(out_b.rewards, out_s.rewards, rtol=1e-5)


def test_agent_types_have_their_own_observation_bounds():
    core = envs.make_batched("smart_grid", 1, {})
    spaces = core.observation_spaces
    assert spaces["thermal_0"] != spaces["storage_0"]
    assert core.agent_types == (
        "thermal",
        "renewable",
        "consumer",
        "consumer",
        "consumer",
        "storage",
    )
    with pytest.raises(envs.ConfigError, match="at least one consumer"):
        envs.make_batched("smart_grid", 1, {"num_consumers": 0})
