"""The synchronous PPO loop on Ray.

Every worker samples `rollout_length` steps of its env copies with the newest weights; the
batches go to the learner by object reference (the driver never holds them); the learner
updates every policy and publishes its weights for the next batch. With `lookahead`, the next
batch is sampled while the learner updates on this one, so sampling overlaps learning at the
price of a policy lag of one update (reported). A worker that dies is replaced; what it was
sampling is dropped and counted nowhere, and the replacement samples that share of the batch.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import ray

from marl_ray.algorithms.core.actor_names import ActorNames
from marl_ray.algorithms.core.policy_set import mean_stats
from marl_ray.algorithms.core.rollout import EpisodeWindow
from marl_ray.algorithms.core.sampler_actor import SamplerActor
from marl_ray.algorithms.core.transfer import TransferCount
from marl_ray.algorithms.learner_driver import LearnerDriver
from marl_ray.algorithms.ppo.actors import PPOLearnerActor
from marl_ray.algorithms.ppo.config import PPOConfig
from marl_ray.algorithms.stall import WorkClock, get_within
from marl_ray.algorithms.trainable import NO_SLOTS, BundleSlots
from marl_ray.metrics import AlgorithmMetrics

logger = logging.getLogger(__name__)

LEARNER_CPUS = 0.5
POLICY_GAUGES = ("policy_loss", "vf_loss", "entropy", "approx_kl")


class PPODriver(LearnerDriver):
    COUNTERS = ("env_steps", "agent_steps", "updates", "restarts")

    def __init__(
        self,
        config: PPOConfig,
        name_prefix: str,
        metrics: AlgorithmMetrics | None,
        slots: BundleSlots = NO_SLOTS,
    ):
        self.config = config
        self.metrics = metrics
        self.slots = slots  # bundle 0: the learner, 1 + i: worker i
        self.learner = PPOLearnerActor.options(
            name=f"{name_prefix}/learner",
            num_cpus=LEARNER_CPUS,
            num_gpus=config.learner_gpus,
            **slots.options(0),
        ).remote(config)
        self.names = ActorNames(name_prefix, "worker")
        self.workers: list[Any] = [None] * config.num_workers
        for i in range(config.num_workers):
            self._start_worker(i)
        self.restarts = 0
        self.work = WorkClock()
        self.env_steps = 0
        self.agent_steps = 0
        self.updates = 0
        self.transfer = TransferCount()
        self.window = EpisodeWindow(100)
        self.weights = self.learner.get_weights.remote()
        self.pending: dict[int, tuple[Any, Any]] | None = None

    def _start_worker(self, i: int) -> None:
        name, seed_index = self.names.next(i, replacement=self.workers[i] is not None)
        cfg = self.config
        self.workers[i] = SamplerActor.options(
            name=name, num_cpus=cfg.num_cpus_per_worker, **self.slots.options(1 + i)
        ).remote(
            cfg,
            "MARL_PPO",
            cfg.num_envs_per_worker,
            cfg.rollout_length,
            cfg.seed * 10_007 + seed_index,
        )

    def _launch(self, weights) -> dict[int, tuple[Any, Any]]:
        """Every worker starts a batch: worker index -> (batch ref, info ref)."""
        return {i: w.rollout.remote(weights) for i, w in enumerate(self.workers)}

    def _collect(self, launched: dict[int, tuple[Any, Any]], weights):
        """The batch refs and infos of every worker, replacing dead workers (their batch is
        sampled again by the replacement, on the same weights)."""
        batches, infos = [], []
        while launched:
            i, (batch_ref, info_ref) = launched.popitem()
            try:
                info = get_within(info_ref, self.stall_timeout_s, "PPO rollout")
            except ray.exceptions.RayActorError as exc:
                self.work.check(self.stall_timeout_s, "PPO rollout")
                self.restarts += 1
                logger.warning("PPO worker %d died (%s); starting a replacement", i, exc)
                self._start_worker(i)
                launched[i] = self.workers[i].rollout.remote(weights)
                continue
            self.work.worked()
            batches.append(batch_ref)
            infos.append(info)
        return batches, infos

    def train(self) -> dict[str, Any]:
        start, steps_before = time.time(), self.env_steps
        stats = [self._update() for _ in range(self.config.updates_per_iteration)]
        elapsed = time.time() - start
        figures = {
            "env_steps_per_s": (self.env_steps - steps_before) / elapsed,
            "learner_updates_per_s": len(stats) / elapsed,
            "learner_updates": self.updates,
            "agent_steps_lifetime": self.agent_steps,
            **self.transfer.figures(elapsed),
            **mean_stats(stats),
        }
        if self.metrics:
            self._export(figures)
        return figures

    def _update(self) -> dict[str, Any]:
        weights = self.weights
        launched = self.pending if self.pending is not None else self._launch(weights)
        batches, infos = self._collect(launched, weights)
        self.pending = self._launch(weights) if self.config.lookahead else None
        for info in infos:
            self.transfer.add("trajectory", info.batch_bytes)
            self.transfer.add("weights", info.weights_bytes)
            self.env_steps += info.env_steps
            self.agent_steps += info.agent_steps
            self.window.extend(info.episodes)
            if self.metrics:
                self.metrics.counter("env_steps", "Env steps sampled").inc(info.env_steps)
        behaviour = min(info.behaviour_version for info in infos)
        stats = ray.get(self.learner.update.remote(self.env_steps, behaviour, *batches))
        self.updates += 1
        self.weights = self.learner.get_weights.remote()
        return {**stats, "sample_s": max(info.sample_s for info in infos)}

    def _export(self, figures: dict[str, Any]) -> None:
        for key in ("env_steps_per_s", "learner_updates_per_s", "policy_lag"):
            self.metrics.gauge(key, key.replace("_", " ")).set(figures[key])
        self.metrics.report_policies(figures, POLICY_GAUGES)

    # ---- run-time hyperparameters and state ----------------------------------------------

    def set_hyperparameters(self, lr: float | None = None, entropy_coef: float | None = None):
        """Learning rate and entropy coefficient of the running learner (PBT)."""
        ray.get(self.learner.set_hyperparameters.remote(lr, entropy_coef))

    def _discard_in_flight(self) -> None:
        if self.pending is not None:  # sampled on the weights being replaced
            ray.wait([info for _, info in self.pending.values()], num_returns=len(self.pending))
            self.pending = None

    def actors(self) -> list[Any]:
        return [*self.workers, self.learner]
