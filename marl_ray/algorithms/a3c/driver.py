"""The asynchronous A3C loop on Ray.

One gradient task is in flight per worker. Results are taken in arrival order (`ray.wait`):
the gradients go to the parameter server by reference (the driver never holds them), and the
worker at once gets the server's newest weights for its next rollout. A worker that dies is
replaced and its lost rollout is simply not counted, so env-step and episode counters only
ever include work whose gradients reached the server. The server's `apply_gradients` calls
are checked as they finish (and all of them before an iteration returns): an error there
fails the trial with the server's error instead of being lost.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import ray

from marl_ray.algorithms.a3c.actors import A3CWorkerActor, ParameterServerActor
from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.a3c.server import split_policy_weights
from marl_ray.algorithms.actor_driver import ActorDriver
from marl_ray.algorithms.core.actor_names import ActorNames
from marl_ray.algorithms.core.rollout import EpisodeStats, EpisodeWindow
from marl_ray.algorithms.core.transfer import TransferCount
from marl_ray.algorithms.stall import (
    WorkClock,
    all_ready,
    first_ready,
    get_within,
)
from marl_ray.algorithms.trainable import NO_SLOTS, BundleSlots
from marl_ray.metrics import AlgorithmMetrics

logger = logging.getLogger(__name__)

PS_CPUS = 0.5


class A3CDriver(ActorDriver):
    def __init__(
        self,
        config: A3CConfig,
        name_prefix: str,
        metrics: AlgorithmMetrics | None,
        slots: BundleSlots = NO_SLOTS,
    ):
        self.config = config
        self.metrics = metrics
        self.slots = slots  # bundle 0: the parameter server, 1 + i: worker i
        self.ps = ParameterServerActor.options(
            name=f"{name_prefix}/ps",
            num_cpus=PS_CPUS,
            num_gpus=config.learner_gpus,
            **slots.options(0),
        ).remote(config)
        n = config.num_workers
        self.workers: list[Any] = [None] * n
        self.names = ActorNames(name_prefix, "worker")
        self.restarts = 0
        self.work = WorkClock()
        self.env_steps = 0
        self.results_received = 0  # gradient results whose work is counted
        self.window = EpisodeWindow(100)
        self.last_losses: dict[str, float] = {}
        self.transfer = TransferCount()
        self.in_flight: dict[Any, tuple[int, Any]] = {}
        self.applying: list[Any] = []  # apply_gradients refs not yet checked
        for i in range(n):
            self._start_worker(i)
        weights = self.ps.get_weights.remote()
        for i in range(n):
            self._launch(i, weights)

    # ---- workers ----------------------------------------------------------------------

    def _start_worker(self, i: int) -> None:
        name, seed_index = self.names.next(i, replacement=self.workers[i] is not None)
        self.workers[i] = A3CWorkerActor.options(
            name=name, num_cpus=self.config.num_cpus_per_worker, **self.slots.options(1 + i)
        ).remote(self.config, seed_index)

    def _launch(self, i: int, weights_ref) -> None:
        grads_ref, result_ref = self.workers[i].compute_gradients.remote(weights_ref)
        self.in_flight[result_ref] = (i, grads_ref)

    def _replace(self, i: int, error: Exception) -> None:
        self.work.check(self.stall_timeout_s, "A3C gradient")
        self.restarts += 1
        logger.warning("A3C worker %d died (%s); starting a replacement", i, error)
        self._start_worker(i)
        if self.metrics:
            self.metrics.counter("worker_restarts", "Workers replaced after dying").inc(1)

    # ---- training ---------------------------------------------------------------------

    def train(self, num_updates: int | None = None) -> dict[str, Any]:
        """Handles `num_updates` gradient results (default: the config's per-iteration count);
        returns this stretch's figures."""
        num_updates = num_updates or self.config.updates_per_iteration
        start, steps_before, handled = time.time(), self.env_steps, 0
        while handled < num_updates:
            ready = first_ready(list(self.in_flight), self.stall_timeout_s, "A3C gradient")
            i, grads_ref = self.in_flight.pop(ready)
            try:
                result = ray.get(ready)
            except ray.exceptions.RayActorError as exc:
                self._replace(i, exc)
                self._launch(i, self.ps.get_weights.remote())
                continue
            self.work.worked()
            self.applying.append(self.ps.apply_gradients.remote(grads_ref, result.version))
            self.transfer.add("gradient", result.gradient_bytes)
            self.transfer.add("weights", result.weights_bytes)
            self._launch(i, self.ps.get_weights.remote())
            self._check_applied(wait=False)
            handled += 1
            self.results_received += 1
            self._record(result.env_steps, result.episodes)
            self.last_losses = result.losses
        self._check_applied(wait=True)
        counters = get_within(self.ps.counters.remote(), self.stall_timeout_s, "A3C counter")
        elapsed = time.time() - start
        figures = {
            "env_steps_per_s": (self.env_steps - steps_before) / elapsed,
            "updates_per_s": handled / elapsed,
            "gradients_applied": counters["applied"],
            "dropped_stale_gradients": counters["dropped_stale"],
            "weights_version": counters["version"],
            **self.transfer.figures(elapsed),
            **{f"{k}_loss": v for k, v in self.last_losses.items()},
        }
        if self.metrics:
            self._export(figures)
        return figures

    def _check_applied(self, wait: bool) -> None:
        """Raises the server's error if one of its `apply_gradients` calls failed; with
        `wait`, waits for every call sent so far (`ActorsStalled` if they do not finish
        within the stall timeout: their gradients may have been on a lost node)."""
        if not self.applying:
            return
        if wait:
            done = all_ready(self.applying, self.stall_timeout_s, "A3C gradient application")
            self.applying = []
        else:
            done, self.applying = ray.wait(self.applying, num_returns=len(self.applying), timeout=0)
        try:
            ray.get(done)
        except ray.exceptions.RayError:
            logger.error("the A3C parameter server failed to apply gradients; stopping the trial")
            raise

    def _record(self, env_steps: int, episodes: list[EpisodeStats]) -> None:
        self.env_steps += env_steps
        self.window.extend(episodes)
        if self.metrics:
            self.metrics.counter("env_steps", "Env steps sampled").inc(env_steps)
            self.metrics.counter("gradients_received", "Gradient pushes").inc(1)
            for episode in episodes:
                self.metrics.gauge("episode_return", "Return of a finished episode").set(
                    episode.episode_return
                )

    def _export(self, figures: dict[str, Any]) -> None:
        m = self.metrics
        m.gauge("env_steps_per_s", "Env steps per second").set(figures["env_steps_per_s"])
        m.gauge("update_rate", "Gradient updates per second").set(figures["updates_per_s"])
        for key in ("weights_version", "gradients_applied", "dropped_stale_gradients"):
            m.gauge(key, key.replace("_", " ")).set(figures[key])

    # ---- state ------------------------------------------------------------------------

    def set_lr(self, lr: float) -> None:
        ray.get(self.ps.set_lr.remote(lr))

    def state_dict(self) -> dict[str, Any]:
        self._check_applied(wait=True)
        return {
            "parameter_server": ray.get(self.ps.state_dict.remote()),
            "env_steps": self.env_steps,
            "restarts": self.restarts,
            "results_received": self.results_received,
            "episodes": self.window.state_dict(),
        }

    @staticmethod
    def policy_weights(state: dict[str, Any]) -> dict[str, Any]:
        return split_policy_weights(state["parameter_server"]["weights"])

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ray.get(self.ps.load_state_dict.remote(state["parameter_server"]))
        self.env_steps = int(state["env_steps"])
        self.restarts = int(state["restarts"])
        self.results_received = int(state["results_received"])
        self.window.load_state_dict(state["episodes"])
        self._relaunch_all()

    def _relaunch_all(self) -> None:
        """Discards work begun on other weights (after a restore) and starts afresh."""
        pending = dict(self.in_flight)
        self.in_flight.clear()
        ray.wait(list(pending), num_returns=len(pending), timeout=self.stall_timeout_s)
        weights = self.ps.get_weights.remote()
        for i, _ in pending.values():
            try:
                get_within(
                    self.workers[i].__ray_ready__.remote(), self.stall_timeout_s, "A3C worker"
                )
            except ray.exceptions.RayActorError as exc:
                self._replace(i, exc)
            self._launch(i, weights)

    def actors(self) -> list[Any]:
        return [*self.workers, self.ps]

    def stop(self) -> None:
        super().stop()
        self.in_flight.clear()
