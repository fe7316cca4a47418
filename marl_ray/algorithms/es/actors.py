"""Ray actor: a thin wrapper hosting an ES worker."""

from __future__ import annotations

import ray

from marl_ray.algorithms.es.worker import ESWorker


class ESWorkerHost:
    """What the actor runs (a plain class, so tests can derive faulty workers from it)."""

    def __init__(self, config, noise, state, seed_index):
        # `noise` arrives from the object store as a read-only, zero-copy numpy view.
        self.worker = ESWorker(config, noise, state, seed_index)

    def evaluate(self, indices):
        return self.worker.evaluate(indices)

    def apply(self, update) -> None:
        self.worker.apply(update)

    def evaluate_current(self, episodes: int):
        return self.worker.evaluate_current(episodes)

    def theta(self):
        return self.worker.model.theta


ESWorkerActor = ray.remote(ESWorkerHost)
