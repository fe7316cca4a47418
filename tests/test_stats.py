"""The seed summary against a literal bootstrap of the mean."""

from __future__ import annotations

import numpy as np
import pytest

from marl_ray.stats import mean_interval


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
