"""Resource allocation: rationing, the water-filling optimum, welfare measures, baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import envs
from envs.resource_allocation import ration, utilities, water_filling, welfare


def test_allocations_never_exceed_capacity_and_undersubscribed_requests_are_granted():
    rng = np.random.default_rng(0)
    caps = np.array([10.0, 3.0, 7.0])
    requests = rng.uniform(0, 1, (500, 4, 3)) * caps
    x = ration(requests, caps)
    assert np.all(x.sum(axis=1) <= caps + 1e-9) and np.all(x >= 0) and np.all(x <= requests)
    under = requests.sum(axis=1) <= caps
    np.testing.assert_allclose(x.transpose(0, 2, 1)[under], requests.transpose(0, 2, 1)[under])
    over = ~under
    np.testing.assert_allclose(x.sum(axis=1)[over], np.broadcast_to(caps, over.shape)[over])


def _brute_force_best(w: np.ndarray, cap: float, steps: int) -> float:
    """Best sum of w_i log(1 + x_i) over a grid of splits of one resource."""
    grid = np.linspace(0, cap, steps + 1)
    best = -np.inf
    for split in itertools.product(grid, repeat=len(w) - 1):
        rest = cap - sum(split)
        if rest < -1e-9:
            continue
        x = np.array([*split, max(rest, 0.0)])
        best = max(best, float((w * np.log1p(x)).sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_water_filling_beats_every_split_of_a_fine_grid(seed):
    rng = np.random.default_rng(seed)
    n = 2 + seed % 2
    w = rng.uniform(0.05, 1.0, (n, 2))
    caps = np.array([rng.uniform(0.5, 5.0), rng.uniform(0.5, 5.0)])
    x = water_filling(w, caps)
    np.testing.assert_allclose(x.sum(axis=0), caps)  # everything is handed out
    assert np.all(x >= 0)
    for m in range(2):
        optimum = float((w[:, m] * np.log1p(x[:, m])).sum())
        brute = _brute_force_best(w[:, m], caps[m], 60 if n == 3 else 400)
        assert optimum >= brute - 1e-9 and optimum - brute < 1e-2


def test_water_filling_leaves_out_agents_with_small_weights():
    x = water_filling(np.array([[1.0], [0.01]]), np.array([1.0]))
    np.testing.assert_allclose(x[:, 0], [1.0, 0.0])  # 0.01 < 1 / (1 + 1): not worth any
    x = water_filling(np.array([[1.0], [1.0]]), np.array([4.0]))
    np.testing.assert_allclose(x[:, 0], [2.0, 2.0])


def test_welfare_measures_on_a_hand_example():
    m = welfare(np.array([1.0, 3.0]))
    assert m["utilitarian"] == 4.0 and m["egalitarian"] == 1.0
    assert m["nash"] == pytest.approx(np.log(3.0))
    assert m["jain"] == pytest.approx(16 / (2 * 10))


def test_rewards_infos_and_baselines():
    core = envs.make_batched("resource_allocation", 64, {"reward": "utilitarian"})
    core.reset(seed=1)
    fractions = {}
    for name in ("equal", "proportional", "optimal"):
        core.reset(seed=1)
        out = core.step(core.baseline_actions(name))
        utils = utilities(core.weights, core.allocation)
        np.testing.assert_allclose(out.rewards[:, 0], utils.sum(axis=1), rtol=1e-5)
        np.testing.assert_allclose(out.infos["optimal_utilitarian"], core.optimal_utilitarian)
        fractions[name] = float(out.infos["welfare_fraction"].mean())
    assert fractions["optimal"] == pytest.approx(1.0, abs=1e-5)
    assert fractions["equal"] < fractions["proportional"] < 1.0


def test_individual_rewards_and_observed_weights():
    core = envs.make_batched("resource_allocation", 2, {"reward": "individual", "num_agents": 3})
    obs, _ = core.reset(seed=4)
    np.testing.assert_allclose(obs[:, :, :3], core.weights, rtol=1e-6)
    out = core.step(np.ones((2, 3, 3), dtype=np.float32))  # everyone asks for everything
    np.testing.assert_allclose(core.allocation, 10.0 / 3)  # rationed equally
    np.testing.assert_allclose(out.rewards, utilities(core.weights, core.allocation), rtol=1e-6)


def test_weights_are_redrawn_every_episode():
    core = envs.make_batched("resource_allocation", 1, {"num_rounds": 1})
    core.reset(seed=0)
    first = core.weights.copy()
    core.step(np.zeros((1, 4, 3), dtype=np.float32))  # episode ends, auto-reset
    assert not np.allclose(first, core.weights)
