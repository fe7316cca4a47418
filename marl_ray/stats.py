"""Summaries of a figure measured over several seeds: mean and a bootstrap interval."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import bootstrap


def mean_interval(
    values: Sequence[float], confidence: float = 0.95, seed: int = 0, resamples: int = 10_000
) -> dict[str, float | list[float] | int]:
    """{"mean", "ci": [low, high], "n", "values"}: the mean over seeds with a percentile
    bootstrap interval of the mean (scipy). With one value, or all values equal, the
    interval is that value (the bootstrap distribution is a point)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("mean_interval needs at least one value")
    mean = float(data.mean())
    if data.size == 1 or np.all(data == data[0]):
        low = high = mean
    else:
        result = bootstrap(
            (data,),
            np.mean,
            confidence_level=confidence,
            n_resamples=resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return {"mean": mean, "ci": [low, high], "n": int(data.size), "values": data.tolist()}
