"""The ES generation loop on Ray.

Per generation the driver draws noise indices for `population / 2` mirrored pairs, hands
them out in chunks (about four per worker, two in flight each) as workers become free, and
collects (index, R+, R-) scalars. Centred-rank weights and merged observation statistics
form the `Update`, which the driver and every worker apply to their own copy of theta.
Every worker's apply is confirmed before the generation ends, so no copy diverges
unnoticed: a worker that died meanwhile is replaced from the driver's state, an apply that
raised fails the trial with the worker's error. A worker lost mid-generation is replaced
and its indices are dispatched again. `bytes_per_generation` counts the pickled messages
exchanged after start-up: it grows with the population, not with the number of parameters.
"""

from __future__ import annotations

import logging
import pickle
import time
from typing import Any

import numpy as np
import ray

from marl_ray.algorithms.actor_driver import ActorDriver
from marl_ray.algorithms.core.actor_names import ActorNames
from marl_ray.algorithms.core.es_math import NoiseTable, pair_weights
from marl_ray.algorithms.core.rollout import EpisodeStats, EpisodeWindow
from marl_ray.algorithms.es.actors import ESWorkerActor
from marl_ray.algorithms.es.config import ESConfig
from marl_ray.algorithms.es.model import ESModel, ObsStats, Update
from marl_ray.algorithms.stall import WorkClock, first_ready
from marl_ray.algorithms.trainable import NO_SLOTS, BundleSlots
from marl_ray.metrics import AlgorithmMetrics

logger = logging.getLogger(__name__)
CHUNKS_PER_WORKER = 4
IN_FLIGHT = 2


def _size(message: Any) -> int:
    return len(pickle.dumps(message, protocol=5))


class ESDriver(ActorDriver):
    worker_class = ESWorkerActor  # tests swap in a faulty worker

    def __init__(
        self,
        config: ESConfig,
        name_prefix: str,
        metrics: AlgorithmMetrics | None,
        slots: BundleSlots = NO_SLOTS,
    ):
        self.config = config
        self.slots = slots  # bundle i: worker i
        self.metrics = metrics
        noise = NoiseTable.create(config.noise_table_size, config.seed)
        self.noise_ref = ray.put(noise)  # once; workers read it zero-copy
        self.model = ESModel(config, noise)
        self.rng = np.random.default_rng(config.seed)
        self.workers: list[Any] = [None] * config.num_workers
        self.names = ActorNames(name_prefix, "worker")
        self.restarts = 0
        self.work = WorkClock()
        self.generations = 0
        self.env_steps = 0
        self.evaluations = 0
        self.window = EpisodeWindow(100)
        for i in range(config.num_workers):
            self._start_worker(i)

    def _start_worker(self, i: int) -> None:
        name, seed_index = self.names.next(i, replacement=self.workers[i] is not None)
        self.workers[i] = self.worker_class.options(
            name=name, num_cpus=self.config.num_cpus_per_worker, **self.slots.options(i)
        ).remote(self.config, self.noise_ref, self.model.state_dict(), seed_index)

    def _replace(self, i: int, error: Exception) -> None:
        self.work.check(self.stall_timeout_s, "ES evaluation")
        self.restarts += 1
        logger.warning("ES worker %d died (%s); starting a replacement", i, error)
        self._start_worker(i)
        if self.metrics:
            self.metrics.counter("worker_restarts", "Workers replaced after dying").inc(1)

    def train(self, generations: int | None = None) -> dict[str, Any]:
        generations = generations or self.config.generations_per_iteration
        start, steps_before, evals_before = time.time(), self.env_steps, self.evaluations
        figures: dict[str, Any] = {}
        for _ in range(generations):
            figures = self.generation()
        elapsed = time.time() - start
        figures["env_steps_per_s"] = (self.env_steps - steps_before) / elapsed
        figures["evaluations_per_s"] = (self.evaluations - evals_before) / elapsed
        if self.metrics:
            for key in ("fitness_mean", "fitness_max", "evaluations_per_s", "bytes_per_generation"):
                self.metrics.gauge(key, key.replace("_", " ")).set(figures[key])
            self.metrics.counter("env_steps", "Env steps sampled").inc(
                self.env_steps - steps_before
            )
        return figures

    def generation(self) -> dict[str, Any]:
        cfg = self.config
        indices = self.model.noise.sample_indices(self.rng, self.model.dim, cfg.pairs)
        # Small chunks handed out as workers free up (episodes differ in length, and a worker
        # the OS slows down should not hold the generation back), two in flight per worker so
        # none waits for the driver's round trip. Sizes differ by at most one pair, larger
        # first, so the workers finish together (20 pairs in 3s would give one 11, one 9).
        parts = min(len(indices), CHUNKS_PER_WORKER * cfg.num_workers)
        todo = np.array_split(indices, parts)[::-1]  # popped from the end
        pending: dict[Any, tuple[int, Any, np.ndarray]] = {}
        sent = received = 0
        results = []

        def dispatch(i: int) -> int:
            chunk = todo.pop()
            worker = self.workers[i]
            pending[worker.evaluate.remote(chunk)] = (i, worker, chunk)
            return _size(chunk)

        for _ in range(IN_FLIGHT):
            for i in range(cfg.num_workers):
                if todo:
                    sent += dispatch(i)
        while pending:
            ready = first_ready(list(pending), self.stall_timeout_s, "ES evaluation")
            i, worker, chunk = pending.pop(ready)
            try:
                result = ray.get(ready)
            except ray.exceptions.RayActorError as exc:
                if self.workers[i] is worker:  # its other chunk in flight fails too
                    self._replace(i, exc)
                todo.append(chunk)  # dispatched again, to the replacement or another worker
            else:
                self.work.worked()
                received += _size(result)
                results.append(result)
            if todo:
                sent += dispatch(i)
        order = np.concatenate([r.indices for r in results])
        pos = np.concatenate([r.returns_pos for r in results])
        neg = np.concatenate([r.returns_neg for r in results])
        obs = ObsStats(
            sum(r.obs.count for r in results),
            sum(r.obs.total for r in results),
            sum(r.obs.total_sq for r in results),
        )
        update = Update(order, pair_weights(pos, neg).astype(np.float32), obs)
        self.model.apply(update)
        self._apply_everywhere(update)
        sent += _size(update) * len(self.workers)
        self.generations += 1
        self.evaluations += 2 * len(order)
        self.env_steps += sum(r.steps for r in results)
        self._evaluate_current()
        fitness = np.concatenate([pos, neg])
        return {
            "generations": self.generations,
            "fitness_mean": float(fitness.mean()),
            "fitness_max": float(fitness.max()),
            "bytes_per_generation": sent + received,
            "parameters": self.model.dim,
        }

    def _apply_everywhere(self, update: Update) -> None:
        refs = {worker.apply.remote(update): i for i, worker in enumerate(self.workers)}
        for ref, i in refs.items():
            try:
                ray.get(ref)
            except ray.exceptions.RayActorError as exc:  # died: the new one starts updated
                self._replace(i, exc)
            except ray.exceptions.RayTaskError:
                logger.error("ES worker %d failed to apply the update; stopping the trial", i)
                raise

    def _evaluate_current(self) -> None:
        if self.config.eval_episodes == 0:
            return
        while True:
            try:
                episodes = ray.get(
                    self.workers[0].evaluate_current.remote(self.config.eval_episodes)
                )
                break
            except ray.exceptions.RayActorError as exc:
                self._replace(0, exc)
        self.env_steps += sum(e.steps for e in episodes)
        self.window.extend([EpisodeStats(e.total_return, e.steps, e.success) for e in episodes])

    # ---- state ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "obs_mean": self.model.obs_mean.tolist(),
            "obs_std": self.model.obs_std.tolist(),
            "weights": self.model.policy_weights(),
            "rng": self.rng.bit_generator.state,
            "generations": self.generations,
            "env_steps": self.env_steps,
            "evaluations": self.evaluations,
            "restarts": self.restarts,
            "episodes": self.window.state_dict(),
        }

    @staticmethod
    def policy_weights(state: dict[str, Any]) -> dict[str, Any]:
        return state["weights"]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.rng.bit_generator.state = state["rng"]
        self.generations = int(state["generations"])
        self.env_steps = int(state["env_steps"])
        self.evaluations = int(state["evaluations"])
        self.restarts = int(state["restarts"])
        self.window.load_state_dict(state["episodes"])
        for worker in self.workers:  # restart every worker from the restored state
            ray.kill(worker)
        for i in range(self.config.num_workers):
            self._start_worker(i)

    def actors(self) -> list[Any]:
        return list(self.workers)
