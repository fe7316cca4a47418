"""The IMPALA loop on Ray.

Each actor has one rollout in flight, always on the newest published weights. Finished
trajectories wait in a bounded queue (by object reference: the driver never holds them);
when it is full, actors whose rollout finished stay idle until the learner takes a batch,
so actors never run unboundedly ahead of the learner. The learner gets `batch_trajectories`
trajectories per update, one update in flight at a time, and its weights are published every
`broadcast_interval` updates. Policy lag = learner version - behaviour version.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import ray

from marl_ray.algorithms.core.actor_names import ActorNames
from marl_ray.algorithms.core.policy_set import mean_stats
from marl_ray.algorithms.core.rollout import EpisodeStats, EpisodeWindow
from marl_ray.algorithms.core.sampler_actor import SamplerActor
from marl_ray.algorithms.core.transfer import TransferCount
from marl_ray.algorithms.impala.actors import ImpalaLearnerActor
from marl_ray.algorithms.impala.config import ImpalaConfig
from marl_ray.algorithms.learner_driver import LearnerDriver
from marl_ray.algorithms.stall import WorkClock, first_ready
from marl_ray.algorithms.trainable import NO_SLOTS, BundleSlots
from marl_ray.metrics import AlgorithmMetrics

logger = logging.getLogger(__name__)

LEARNER_CPUS = 0.5


class ImpalaDriver(LearnerDriver):
    COUNTERS = ("env_steps", "trajectories", "updates", "restarts")

    def __init__(
        self,
        config: ImpalaConfig,
        name_prefix: str,
        metrics: AlgorithmMetrics | None,
        slots: BundleSlots = NO_SLOTS,
    ):
        self.config = config
        self.metrics = metrics
        self.slots = slots  # bundle 0: the learner, 1 + i: actor i
        self.learner = ImpalaLearnerActor.options(
            name=f"{name_prefix}/learner",
            num_cpus=LEARNER_CPUS,
            num_gpus=config.learner_gpus,
            **slots.options(0),
        ).remote(config)
        self.samplers: list[Any] = [None] * config.num_actors
        self.names = ActorNames(name_prefix, "actor")
        self.restarts = 0
        self.work = WorkClock()
        self.env_steps = 0
        self.trajectories = 0
        self.window = EpisodeWindow(100)
        self.queue: deque[tuple[Any, int]] = deque()  # (trajectory ref, behaviour version)
        self.max_queue_seen = 0
        self.in_flight: dict[Any, tuple[int, Any]] = {}  # info ref -> (actor, trajectory ref)
        self.idle: list[int] = []
        self.update_ref = None
        self.updates = 0
        self.transfer = TransferCount()
        self.weights = self.learner.get_weights.remote()
        for i in range(config.num_actors):
            self._start_actor(i)
            self.idle.append(i)
        self._launch_idle()

    def _start_actor(self, i: int) -> None:
        name, seed_index = self.names.next(i, replacement=self.samplers[i] is not None)
        cfg = self.config
        self.samplers[i] = SamplerActor.options(
            name=name, num_cpus=cfg.num_cpus_per_actor, **self.slots.options(1 + i)
        ).remote(
            cfg,
            "MARL_IMPALA",
            cfg.num_envs_per_actor,
            cfg.rollout_length,
            cfg.seed * 10_007 + seed_index,
        )

    def _launch(self, i: int) -> None:
        trajectory_ref, info_ref = self.samplers[i].rollout.remote(self.weights)
        self.in_flight[info_ref] = (i, trajectory_ref)

    def train(self, num_updates: int | None = None) -> dict[str, Any]:
        num_updates = num_updates or self.config.updates_per_iteration
        start, steps_before, done = time.time(), self.env_steps, 0
        stats: list[dict[str, float]] = []
        self._start_update()
        while done < num_updates:
            waiting = list(self.in_flight) + ([self.update_ref] if self.update_ref else [])
            ref = first_ready(waiting, self.stall_timeout_s, "IMPALA rollout or update")
            if ref is self.update_ref:
                stats.append(ray.get(ref))
                self.update_ref = None
                done += 1
                self.updates += 1
                if self.updates % self.config.broadcast_interval == 0:
                    self.weights = self.learner.get_weights.remote()
            else:
                self._collect(ref)
            if done < num_updates:  # between iterations the learner rests: clean checkpoints
                self._start_update()
        elapsed = time.time() - start
        figures = {
            "env_steps_per_s": (self.env_steps - steps_before) / elapsed,
            "learner_updates_per_s": done / elapsed,
            "learner_updates": self.updates,
            "queue_depth": len(self.queue),
            "max_queue_depth": self.max_queue_seen,
            **self.transfer.figures(elapsed),
            **mean_stats(stats),
        }
        if self.metrics:
            self._export(figures)
        return figures

    def _collect(self, info_ref) -> None:
        i, trajectory_ref = self.in_flight.pop(info_ref)
        try:
            info = ray.get(info_ref)
        except ray.exceptions.RayActorError as exc:
            self.work.check(self.stall_timeout_s, "IMPALA rollout")
            self.restarts += 1
            logger.warning("IMPALA actor %d died (%s); starting a replacement", i, exc)
            self._start_actor(i)
            self.idle.append(i)
            self._launch_idle()
            return
        self.work.worked()
        self.queue.append((trajectory_ref, info.behaviour_version))
        self.transfer.add("trajectory", info.batch_bytes)
        self.transfer.add("weights", info.weights_bytes)
        self.max_queue_seen = max(self.max_queue_seen, len(self.queue))
        self._record(info.env_steps, info.episodes)
        self.idle.append(i)
        self._launch_idle()

    def _start_update(self) -> None:
        if self.update_ref is not None or len(self.queue) < self.config.batch_trajectories:
            return
        batch = [self.queue.popleft() for _ in range(self.config.batch_trajectories)]
        versions = [v for _, v in batch]
        self.update_ref = self.learner.update.remote(versions, *[ref for ref, _ in batch])
        self._launch_idle()

    def _launch_idle(self) -> None:
        """Backpressure: a rollout starts only if the queue has room for its trajectory once
        every rollout already running has landed."""
        while self.idle and len(self.queue) + len(self.in_flight) < self.config.queue_size:
            self._launch(self.idle.pop(0))

    def _record(self, env_steps: int, episodes: list[EpisodeStats]) -> None:
        self.env_steps += env_steps
        self.trajectories += 1
        self.window.extend(episodes)
        if self.metrics:
            self.metrics.counter("env_steps", "Env steps sampled").inc(env_steps)
            for episode in episodes:
                self.metrics.gauge("episode_return", "Return of a finished episode").set(
                    episode.episode_return
                )

    def _export(self, figures: dict[str, Any]) -> None:
        for key in ("env_steps_per_s", "learner_updates_per_s", "queue_depth", "policy_lag"):
            self.metrics.gauge(key, key.replace("_", " ")).set(figures[key])
        self.metrics.report_policies(figures, ("policy_loss", "value_loss", "mean_rho"))

    # ---- run-time hyperparameters and state ----------------------------------------------

    def set_hyperparameters(self, lr: float | None = None, entropy_coef: float | None = None):
        """Learning rate and entropy coefficient of the running learner (PBT)."""
        ray.get(self.learner.set_hyperparameters.remote(lr, entropy_coef))

    def _discard_in_flight(self) -> None:
        # Work begun on the old weights is discarded; actors restart on the restored ones.
        if self.update_ref is not None:
            ray.wait([self.update_ref])
            self.update_ref = None
        self.queue.clear()
        ray.wait(list(self.in_flight), num_returns=len(self.in_flight))
        self.idle += [i for i, _ in self.in_flight.values()]
        self.in_flight.clear()
        self._launch_idle()

    def actors(self) -> list[Any]:
        return [*self.samplers, self.learner]
