"""The seed statistics against slow literal versions of their formulas."""

from __future__ import annotations

import numpy as np
import pytest

from marl_ray.stats import (
    aggregate_interval,
    curve_intervals,
    iqm,
    mean_interval,
    performance_profile,
    probability_of_improvement,
    score_distribution,
)


def literal_percentile_bootstrap(values, confidence, resamples, seed):
    rng = np.random.default_rng(seed)
    n = len(values)
    means = sorted(
        sum(values[int(rng.integers(n))] for _ in range(n)) / n for _ in range(resamples)
    )
    tail = (1 - confidence) / 2
    return means[int(tail * resamples)], means[int((1 - tail) * resamples) - 1]


def test_interval_matches_a_literal_bootstrap_and_holds_the_mean():
    values = [0.52, 0.89, 1.0, 0.75, 0.61]
    got = mean_interval(values, resamples=4000)
    low, high = literal_percentile_bootstrap(values, 0.95, 4000, seed=1)
    assert got["mean"] == pytest.approx(np.mean(values))
    assert got["ci"][0] <= got["mean"] <= got["ci"][1]
    assert got["ci"][0] == pytest.approx(low, abs=0.04)
    assert got["ci"][1] == pytest.approx(high, abs=0.04)
    assert got["n"] == 5


def test_degenerate_inputs():
    assert mean_interval([1.0, 1.0, 1.0])["ci"] == [1.0, 1.0]
    assert mean_interval([0.3])["ci"] == [0.3, 0.3]
    with pytest.raises(ValueError, match="at least one"):
        mean_interval([])


# -- aggregate scores, probability of improvement, profiles (Agarwal et al. 2021) --------


def literal_iqm(values):
    ordered = sorted(values)
    cut = int(0.25 * len(ordered))
    middle = ordered[cut : len(ordered) - cut]
    return sum(middle) / len(middle)


def literal_improvement(xs_by_task, ys_by_task):
    per_task = []
    for xs, ys in zip(xs_by_task, ys_by_task, strict=True):
        wins = 0.0
        for x in xs:
            for y in ys:
                wins += 1.0 if x > y else 0.5 if x == y else 0.0
        per_task.append(wins / (len(xs) * len(ys)))
    return sum(per_task) / len(per_task)


def literal_stratified_bootstrap(tasks, statistic, resamples, seed, confidence=0.95):
    """Resamples every task's runs with replacement, separately, then applies the statistic."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        sample = [[t[int(rng.integers(len(t)))] for _ in range(len(t))] for t in tasks]
        draws.append(statistic(sample))
    draws.sort()
    tail = (1 - confidence) / 2
    return draws[int(tail * resamples)], draws[int((1 - tail) * resamples) - 1]


@pytest.mark.parametrize("n", [1, 3, 4, 5, 8, 10, 13])
def test_iqm_is_the_mean_of_the_middle_half(n):
    values = np.random.default_rng(n).normal(size=n)
    assert iqm(values) == pytest.approx(literal_iqm(list(values)))


def test_stratified_interval_of_the_iqm_matches_a_literal_bootstrap():
    rng = np.random.default_rng(3)
    tasks = [rng.normal(0, 1, 6), rng.normal(3, 2, 9)]  # two tasks, different run counts
    got = aggregate_interval(tasks, "iqm", resamples=4000)
    pooled = [v for t in tasks for v in t]
    assert got["value"] == pytest.approx(literal_iqm(pooled))
    low, high = literal_stratified_bootstrap(
        [list(t) for t in tasks], lambda s: literal_iqm([v for t in s for v in t]), 4000, 7
    )
    assert got["ci"][0] == pytest.approx(low, abs=0.15)
    assert got["ci"][1] == pytest.approx(high, abs=0.15)
    assert got["ci"][0] <= got["value"] <= got["ci"][1]


def test_probability_of_improvement_matches_the_pair_count_and_its_interval():
    rng = np.random.default_rng(5)
    x = [rng.normal(1.0, 1, 5), rng.integers(0, 3, 7).astype(float)]  # ties on task 2
    y = [rng.normal(0.0, 1, 4), rng.integers(0, 3, 6).astype(float)]
    got = probability_of_improvement(x, y, resamples=3000)
    assert got["value"] == pytest.approx(literal_improvement(x, y))
    low, high = literal_stratified_bootstrap(
        [*map(list, x), *map(list, y)],
        lambda s: literal_improvement(s[:2], s[2:]),
        3000,
        11,
    )
    assert got["ci"][0] == pytest.approx(low, abs=0.06)
    assert got["ci"][1] == pytest.approx(high, abs=0.06)
    # Symmetry: P(X > Y) + P(Y > X) = 1 with ties counted half each way.
    back = probability_of_improvement(y, x, resamples=100)
    assert got["value"] + back["value"] == pytest.approx(1.0)


def test_identical_sides_are_a_coin_flip_and_dominance_is_certain():
    same = [[0.1, 0.5, 0.9]]
    assert probability_of_improvement(same, same)["value"] == pytest.approx(0.5)
    better = probability_of_improvement([[5.0, 6.0, 7.0]], [[1.0, 2.0, 3.0]])
    assert better["value"] == 1.0 and better["ci"] == [1.0, 1.0]


def test_score_distribution_counts_runs_above_each_threshold():
    tasks = [[0.0, 0.5, 1.0, 1.0], [0.2, 0.8]]
    taus = np.array([-1.0, 0.1, 0.5, 0.9, 1.0])
    literal = [np.mean([np.mean([v > tau for v in t]) for t in tasks]) for tau in taus]
    np.testing.assert_allclose(score_distribution(tasks, taus), literal)
    profile = performance_profile(tasks, taus, resamples=500)
    assert np.all(profile["low"] <= profile["fraction"] + 1e-12)
    assert np.all(profile["fraction"] <= profile["high"] + 1e-12)
    assert profile["fraction"][0] == 1.0 and profile["high"][-1] == 0.0


def test_curve_bands_hold_the_aggregate_and_collapse_without_variation():
    rng = np.random.default_rng(2)
    runs = np.cumsum(rng.normal(0.1, 0.3, (5, 20)), axis=1)
    runs[:, 0] = 0.0  # every run starts equal: no band there
    got = curve_intervals(runs, resamples=500)
    np.testing.assert_allclose(got["value"], [literal_iqm(list(c)) for c in runs.T])
    assert got["low"][0] == got["high"][0] == 0.0
    assert np.all(got["low"] <= got["value"] + 1e-12)
    assert np.all(got["value"] <= got["high"] + 1e-12)


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match="at least one run"):
        aggregate_interval([[]])
    with pytest.raises(ValueError, match="finite"):
        aggregate_interval([[1.0, float("nan")]])
    with pytest.raises(ValueError, match="allowed: mean, median, iqm"):
        aggregate_interval([[1.0]], "max")
    with pytest.raises(ValueError, match="tasks"):
        probability_of_improvement([[1.0]], [[1.0], [2.0]])
