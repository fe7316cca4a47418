"""ES math against literal versions: centred ranks, the gradient estimate, noise slicing."""

from __future__ import annotations

import numpy as np
import pytest

from marl_ray.algorithms.core.es_math import (
    Adam,
    NoiseTable,
    RunningStat,
    centered_ranks,
    es_gradient,
    pair_weights,
)


def literal_centered_ranks(values):
    """Rank of x = (number of values below x) + (number of others equal to x) / 2, i.e. the
    average of the 0-based positions its ties occupy; then scaled to [-0.5, 0.5]."""
    flat = list(values.ravel())
    n = len(flat)
    ranks = []
    for x in flat:
        below = sum(1 for y in flat if y < x)
        equal = sum(1 for y in flat if y == x)
        ranks.append((below + (equal - 1) / 2) / (n - 1) - 0.5)
    return np.array(ranks).reshape(values.shape)


@pytest.mark.parametrize("shape", [(2,), (7,), (5, 2), (40, 2)])
def test_centered_ranks_match_the_literal_version(shape):
    values = np.random.default_rng(sum(shape)).normal(size=shape)
    got = centered_ranks(values)
    np.testing.assert_allclose(got, literal_centered_ranks(values))
    assert got.min() == -0.5 and got.max() == 0.5


@pytest.mark.parametrize("shape", [(2,), (6,), (5, 2), (40, 2)])
def test_centered_ranks_average_ties(shape):
    rng = np.random.default_rng(sum(shape))
    partly_tied = rng.integers(0, 3, size=shape).astype(float)
    np.testing.assert_allclose(centered_ranks(partly_tied), literal_centered_ranks(partly_tied))
    np.testing.assert_array_equal(centered_ranks(np.full(shape, 500.0)), np.zeros(shape))
    assert centered_ranks(partly_tied).sum() == pytest.approx(0.0, abs=1e-12)


def test_pair_weights_reward_the_better_sign():
    weights = pair_weights(np.array([3.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0]))
    assert weights[0] > 0 and weights[1] < 0
    assert weights[2] == 0.0  # a tied pair pushes theta along neither sign


def test_pair_weights_on_a_plateau_are_zero():
    np.testing.assert_array_equal(pair_weights(np.full(5, 500.0), np.full(5, 500.0)), 0.0)


def test_noise_slicing():
    noise = NoiseTable(NoiseTable.create(1000, seed=3))
    np.testing.assert_array_equal(noise.get(10, 5), noise.noise[10:15])
    rng = np.random.default_rng(0)
    indices = noise.sample_indices(rng, dim=100, count=500)
    assert indices.min() >= 0 and indices.max() <= 900
    with pytest.raises(IndexError):
        noise.get(996, 5)
    np.testing.assert_array_equal(NoiseTable.create(50, 7), NoiseTable.create(50, 7))


def test_gradient_estimate_agrees_with_finite_differences_on_a_quadratic():
    """F(x) = -|x - c|^2: the mirrored estimate with raw returns as weights approaches the
    true gradient -2 (x - c), which finite differences also give."""
    dim, sigma = 6, 0.05
    c = np.linspace(-1, 1, dim)
    theta = np.zeros(dim)

    def fitness(x):
        return -np.sum((x - c) ** 2)

    finite = np.array(
        [(fitness(theta + 1e-5 * e) - fitness(theta - 1e-5 * e)) / 2e-5 for e in np.eye(dim)]
    )
    noise = NoiseTable(NoiseTable.create(2_000_000, seed=1))
    indices = noise.sample_indices(np.random.default_rng(0), dim, 20_000)
    eps = np.stack([noise.get(int(i), dim) for i in indices])
    weights = np.array([fitness(theta + sigma * e) - fitness(theta - sigma * e) for e in eps]) / 2
    estimate = es_gradient(noise, indices, weights, dim, sigma)
    np.testing.assert_allclose(estimate, finite, atol=0.08)
    assert np.dot(estimate, finite) / (np.linalg.norm(estimate) * np.linalg.norm(finite)) > 0.99


def test_adam_ascends_and_is_deterministic():
    a, b = Adam(3, lr=0.1), Adam(3, lr=0.1)
    g = np.array([1.0, -2.0, 0.0], dtype=np.float32)
    step = a.step(g)
    np.testing.assert_array_equal(step, b.step(g))
    np.testing.assert_allclose(step, [0.1, -0.1, 0.0], atol=1e-6)  # first Adam step: lr*sign


def test_running_stat_merges_like_one_pass():
    rng = np.random.default_rng(2)
    data = rng.normal(3, 2, size=(1000, 4))
    stat = RunningStat((4,))
    for part in np.array_split(data, 7):
        stat.merge(len(part), part.sum(0), (part**2).sum(0))
    np.testing.assert_allclose(stat.mean, data.mean(0))
    np.testing.assert_allclose(stat.std, data.std(0), rtol=1e-6)
