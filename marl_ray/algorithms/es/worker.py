"""An ES worker without Ray: plays mirrored perturbations given as noise indices."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from marl_ray.algorithms.es.config import ESConfig
from marl_ray.algorithms.es.model import EpisodeResult, ESModel, ObsStats, Update


class PairResults(NamedTuple):
    """What a worker sends back: scalars per perturbation, and observation statistics."""

    indices: np.ndarray
    returns_pos: np.ndarray
    returns_neg: np.ndarray
    steps: int
    obs: ObsStats


class ESWorker:
    def __init__(self, config: ESConfig, noise: np.ndarray, state: dict, seed_index: int):
        self.config = config
        self.model = ESModel(config, noise)
        self.model.load_state_dict(state)
        self.rng = np.random.default_rng(config.seed * 10_007 + seed_index)

    def evaluate(self, indices: np.ndarray) -> PairResults:
        cfg, model = self.config, self.model
        pos, neg, steps = [], [], 0
        shape = model.obs_mean.shape
        count, total, total_sq = 0.0, np.zeros(shape), np.zeros(shape)
        for index in indices:
            eps = model.noise.get(int(index), model.dim)
            for sign, out in ((1.0, pos), (-1.0, neg)):
                theta = model.theta + sign * cfg.sigma * eps
                result, stats = model.play(theta, self.rng, cfg.episode_step_budget, True)
                out.append(result.total_return)
                steps += result.steps
                count, total, total_sq = (
                    count + stats.count,
                    total + stats.total,
                    total_sq + stats.total_sq,
                )
        return PairResults(
            np.asarray(indices),
            np.asarray(pos),
            np.asarray(neg),
            steps,
            ObsStats(count, total, total_sq),
        )

    def apply(self, update: Update) -> None:
        self.model.apply(update)

    def evaluate_current(self, episodes: int) -> list[EpisodeResult]:
        """Episodes of the unperturbed theta, to its own end (no step budget)."""
        return [self.model.play(self.model.theta, self.rng, 0, False)[0] for _ in range(episodes)]
