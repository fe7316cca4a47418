"""Evolution-strategies math (Salimans et al. 2017), apart from workers and drivers.

A perturbation is an index `i` into a shared table of standard-normal noise: eps_i is the
`dim` numbers starting there. Mirrored sampling evaluates theta + sigma eps_i and
theta - sigma eps_i; fitness shaping replaces returns by centred ranks in [-0.5, 0.5].
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


class NoiseTable:
    """A fixed block of N(0, 1) float32 noise made from a seed; perturbations are slices."""

    def __init__(self, noise: np.ndarray):
        self.noise = noise

    @staticmethod
    def create(size: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal(size, dtype=np.float32)

    def get(self, index: int, dim: int) -> np.ndarray:
        if not 0 <= index <= len(self.noise) - dim:
            raise IndexError(f"noise index {index} out of range for dim {dim}")
        return self.noise[index : index + dim]

    def sample_indices(self, rng: np.random.Generator, dim: int, count: int) -> np.ndarray:
        return rng.integers(0, len(self.noise) - dim + 1, size=count)


def centered_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of `values` (any shape) scaled to [-0.5, 0.5]; tied values share their average
    rank, so a mirrored pair with R+ == R- gets weight 0 (no push along either sign)."""
    flat = values.ravel()
    if flat.size < 2:
        return np.zeros(values.shape, dtype=np.float64)
    ranks = rankdata(flat, method="average") - 1.0  # 0-based, ties averaged
    return (ranks / (flat.size - 1) - 0.5).reshape(values.shape)


def es_gradient(
    noise: NoiseTable, indices: np.ndarray, weights: np.ndarray, dim: int, sigma: float
) -> np.ndarray:
    """Ascent direction: sum_i w_i eps_i / (n sigma), n = number of mirrored pairs, where
    w_i = shaped(R+_i) - shaped(R-_i). Estimates the gradient of E[F(theta + sigma eps)]."""
    grad = np.zeros(dim, dtype=np.float64)
    for index, weight in zip(indices, weights, strict=True):
        grad += weight * noise.get(int(index), dim)
    return grad / (len(indices) * sigma)


def pair_weights(returns_pos: np.ndarray, returns_neg: np.ndarray) -> np.ndarray:
    """Centred ranks over all 2n returns, then w_i = rank(R+_i) - rank(R-_i)."""
    ranks = centered_ranks(np.stack([returns_pos, returns_neg], axis=1))
    return ranks[:, 0] - ranks[:, 1]


class Adam:
    """Adam ascent on a flat float32 vector; deterministic, so every copy agrees exactly."""

    def __init__(self, dim: int, lr: float, beta1: float = 0.9, beta2: float = 0.999):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, 1e-8
        self.m = np.zeros(dim, dtype=np.float32)
        self.v = np.zeros(dim, dtype=np.float32)
        self.t = 0

    def step(self, gradient: np.ndarray) -> np.ndarray:
        """The change to add to theta for an ascent `gradient`."""
        self.t += 1
        g = gradient.astype(np.float32)
        self.m = self.beta1 * self.m + (1 - self.beta1) * g
        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g
        a = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        return (a * self.m / (np.sqrt(self.v) + self.eps)).astype(np.float32)


class RunningStat:
    """Mean and std of observations from merged (count, sum, sum of squares) statistics."""

    def __init__(self, shape: tuple[int, ...]):
        self.count = 0.0
        self.total = np.zeros(shape, dtype=np.float64)
        self.total_sq = np.zeros(shape, dtype=np.float64)

    def merge(self, count: float, total: np.ndarray, total_sq: np.ndarray) -> None:
        self.count += count
        self.total += total
        self.total_sq += total_sq

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.count, 1.0)

    @property
    def std(self) -> np.ndarray:
        var = self.total_sq / max(self.count, 1.0) - self.mean**2
        return np.sqrt(np.maximum(var, 1e-4)).astype(np.float64)
