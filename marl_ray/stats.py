"""Statistics of results measured over several seeds, as Agarwal et al. (2021) recommend:
aggregate scores (mean, median, interquartile mean) with stratified bootstrap confidence
intervals, the probability of improvement, and performance profiles.

The bootstrap is scipy's (`scipy.stats.bootstrap`, percentile intervals). Given one sample
per task, scipy resamples each independently, which is exactly the stratified bootstrap
(runs resampled within each task). rliable, which does the same through `arch`, is not used:
rliable 1.2 pins `arch<8`, and arch 7 fails to import beside pandas 3 (README, "Comparing
algorithms").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import bootstrap, trim_mean

CONFIDENCE = 0.95
RESAMPLES = 10_000

Scores = Sequence[Sequence[float]]
"""Scores per task: `scores[t]` holds one value per run (seed) on task t."""


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50 % of the values (25 % trimmed off
    each end, as `scipy.stats.trim_mean` counts them)."""
    return trim_mean(values, 0.25, axis=axis)


AGGREGATES: dict[str, Callable[..., np.ndarray]] = {
    "mean": np.mean,
    "median": np.median,
    "iqm": iqm,
}
"""Aggregate scores over runs (all tasks' runs pooled), by the names reports use."""


def _tasks(scores: Scores, name: str) -> list[np.ndarray]:
    tasks = [np.asarray(t, dtype=np.float64).ravel() for t in scores]
    if not tasks or any(t.size == 0 for t in tasks):
        raise ValueError(f"{name} needs at least one run on every task")
    if any(not np.all(np.isfinite(t)) for t in tasks):
        raise ValueError(f"{name}: scores must be finite")
    return tasks


def _interval(
    samples: list[np.ndarray], statistic, point: float, confidence: float, seed: int, resamples
) -> list[float]:
    """The stratified percentile bootstrap interval of `statistic(*samples, axis)`. Without
    variation to resample (one run per task, or all runs equal) it is the point itself."""
    if all(s.size < 2 or np.all(s == s[0]) for s in samples):
        return [point, point]
    result = bootstrap(
        tuple(samples),
        statistic,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        vectorized=True,
        paired=False,
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return [float(ci.low), float(ci.high)]


def aggregate_interval(
    scores: Scores,
    aggregate: str = "iqm",
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict[str, float | list[float]]:
    """{"value", "ci": [low, high]}: an aggregate (`AGGREGATES`) of every run's score, with a
    stratified bootstrap interval (runs resampled within each task)."""
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}; allowed: {', '.join(AGGREGATES)}")
    tasks = _tasks(scores, aggregate)
    fn = AGGREGATES[aggregate]

    def statistic(*samples, axis=-1):
        return fn(np.concatenate(samples, axis=axis), axis=axis)

    point = float(statistic(*tasks))
    return {"value": point, "ci": _interval(tasks, statistic, point, confidence, seed, resamples)}


def mean_interval(
    values: Sequence[float],
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict[str, float | list[float] | int]:
    """{"mean", "ci": [low, high], "n", "values"}: the mean over seeds with a percentile
    bootstrap interval of the mean (one task)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("mean_interval needs at least one value")
    got = aggregate_interval([data], "mean", confidence, seed, resamples)
    return {"mean": got["value"], "ci": got["ci"], "n": int(data.size), "values": data.tolist()}


def _improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 over every pair of a run of X and a run of Y (the
    Mann-Whitney U statistic over N * M)."""
    x = np.moveaxis(x, axis, -1)[..., :, None]
    y = np.moveaxis(y, axis, -1)[..., None, :]
    return ((x > y) + 0.5 * (x == y)).mean(axis=(-2, -1))


def probability_of_improvement(
    x: Scores,
    y: Scores,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict[str, float | list[float]]:
    """{"value", "ci"}: the probability that a run of X scores higher than a run of Y on the
    same task (ties count half), averaged over tasks; the interval resamples X's and Y's runs
    independently within each task."""
    xs, ys = _tasks(x, "probability_of_improvement"), _tasks(y, "probability_of_improvement")
    if len(xs) != len(ys):
        raise ValueError(f"X has {len(xs)} tasks and Y {len(ys)}; they must match")
    k = len(xs)

    def statistic(*samples, axis=-1):
        return np.mean([_improvement(samples[t], samples[k + t], axis) for t in range(k)], axis=0)

    point = float(statistic(*xs, *ys))
    return {
        "value": point,
        "ci": _interval([*xs, *ys], statistic, point, confidence, seed, resamples),
    }


def score_distribution(scores: Scores, taus: np.ndarray, axis: int = -1) -> np.ndarray:
    """The performance profile: for each threshold tau, the fraction of runs scoring above
    it, averaged over tasks."""
    taus = np.asarray(taus, dtype=np.float64)
    tasks = [np.moveaxis(np.asarray(t, dtype=np.float64), axis, -1) for t in scores]
    return np.mean([(t[..., None, :] > taus[:, None]).mean(-1) for t in tasks], axis=0)


def performance_profile(
    scores: Scores,
    taus: Sequence[float],
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resamples: int = 2_000,
) -> dict[str, np.ndarray]:
    """{"taus", "fraction", "low", "high"}: the score distribution with a stratified
    bootstrap band at every threshold."""
    tasks = _tasks(scores, "performance_profile")
    taus_arr = np.asarray(taus, dtype=np.float64)
    point = score_distribution(tasks, taus_arr)
    low, high = point.copy(), point.copy()
    for i, tau in enumerate(taus_arr):
        # The fraction above one threshold, resampled; vectorised over resamples by scipy.
        def statistic(*samples, axis=-1, tau=tau):
            return np.mean([(s > tau).mean(axis=axis) for s in samples], axis=0)

        low[i], high[i] = _interval(tasks, statistic, float(point[i]), confidence, seed, resamples)
    return {"taus": taus_arr, "fraction": point, "low": low, "high": high}


def curve_intervals(
    runs: np.ndarray,
    aggregate: str = "iqm",
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resamples: int = 2_000,
) -> dict[str, np.ndarray]:
    """{"value", "low", "high"} per column of `runs` [runs, points] (one task): a
    sample-efficiency curve's aggregate over runs at each point of a common step grid, with
    a bootstrap band."""
    runs = np.asarray(runs, dtype=np.float64)
    if runs.ndim != 2 or runs.shape[0] == 0:
        raise ValueError(f"curve_intervals needs [runs, points], got shape {runs.shape}")
    fn = AGGREGATES[aggregate]
    value = fn(runs, axis=0)
    if runs.shape[0] < 2 or np.all(runs == runs[0]):
        return {"value": value, "low": value.copy(), "high": value.copy()}
    result = bootstrap(
        (runs,),
        fn,
        axis=0,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    # Columns without variation come back as nan: their interval is the value.
    low = np.where(np.isfinite(ci.low), ci.low, value)
    high = np.where(np.isfinite(ci.high), ci.high, value)
    return {"value": value, "low": low, "high": high}
