"""The IQL / VDN / QMIX loop on Ray.

Samplers (`<algo>/<trial>/sampler-<i>`) each keep one chunk in flight, acting
epsilon-greedily on the newest published weights (epsilon from the env steps so far). A
finished chunk goes to the replay actor by reference (the driver never holds it) and, once
`learning_starts` env steps are sampled, earns `updates_per_batch` learner updates; the
learner takes one uniformly sampled batch of sequences per update straight from the replay
actor, one update in flight at a time, and its weights are published every
`broadcast_interval` updates. Samplers wait while more than `max_update_credit` updates are
owed, so sampling never runs unboundedly ahead of learning (the replay ratio holds). A
sampler that dies is replaced; its chunk is lost and counted nowhere.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import ray

from marl_ray.algorithms.core.actor_names import ActorNames
from marl_ray.algorithms.core.q_network import linear_epsilon
from marl_ray.algorithms.core.rollout import EpisodeWindow
from marl_ray.algorithms.learner_driver import LearnerDriver
from marl_ray.algorithms.value_decomposition.actors import (
    QLearnerActor,
    QSamplerActor,
    ReplayActor,
)
from marl_ray.algorithms.value_decomposition.config import QConfig
from marl_ray.metrics import AlgorithmMetrics

logger = logging.getLogger(__name__)

LEARNER_CPUS = 0.5
REPLAY_CPUS = 0.25


class QDriver(LearnerDriver):
    COUNTERS = ("env_steps", "chunks", "updates", "restarts")

    def __init__(self, config: QConfig, name_prefix: str, metrics: AlgorithmMetrics | None):
        self.config = config
        self.metrics = metrics
        self.learner = QLearnerActor.options(
            name=f"{name_prefix}/learner", num_cpus=LEARNER_CPUS, num_gpus=config.learner_gpus
        ).remote(config)
        self.replay = ReplayActor.options(
            name=f"{name_prefix}/replay", num_cpus=REPLAY_CPUS
        ).remote(config)
        self.names = ActorNames(name_prefix, "sampler")
        self.samplers: list[Any] = [None] * config.num_samplers
        for i in range(config.num_samplers):
            self._start_sampler(i)
        self.env_steps = self.chunks = self.updates = self.restarts = 0
        self.window = EpisodeWindow(100)
        self.credit = 0  # updates owed to the chunks sampled
        self.max_credit = config.updates_per_batch * config.num_samplers * 2
        self.update_ref = None
        self.in_flight: dict[Any, tuple[int, Any]] = {}  # info ref -> (sampler, chunk ref)
        self.idle = list(range(config.num_samplers))
        self.weights = self.learner.get_weights.remote()
        self._launch_idle()

    @property
    def epsilon(self) -> float:
        c = self.config
        return linear_epsilon(c.epsilon_start, c.epsilon_end, c.epsilon_decay_steps, self.env_steps)

    def _start_sampler(self, i: int) -> None:
        name, seed_index = self.names.next(i, replacement=self.samplers[i] is not None)
        self.samplers[i] = QSamplerActor.options(
            name=name, num_cpus=self.config.num_cpus_per_sampler
        ).remote(self.config, self.config.seed * 10_007 + seed_index)

    def _launch_idle(self) -> None:
        while self.idle and self.credit < self.max_credit:
            i = self.idle.pop(0)
            chunk_ref, info_ref = self.samplers[i].rollout.remote(self.weights, self.epsilon)
            self.in_flight[info_ref] = (i, chunk_ref)

    def train(self, num_updates: int | None = None) -> dict[str, Any]:
        num_updates = num_updates or self.config.updates_per_iteration
        start, steps_before, done = time.time(), self.env_steps, 0
        stats: list[dict[str, float]] = []
        while done < num_updates:
            self._start_update()
            waiting = list(self.in_flight) + ([self.update_ref] if self.update_ref else [])
            (ref,), _ = ray.wait(waiting, num_returns=1)
            if ref is self.update_ref:
                stats.append(ray.get(ref))
                self.update_ref = None
                done += 1
                self.updates += 1
                if self.updates % self.config.broadcast_interval == 0:
                    self.weights = self.learner.get_weights.remote()
            else:
                self._collect(ref)
            self._launch_idle()
        elapsed = time.time() - start
        figures = {
            "env_steps_per_s": (self.env_steps - steps_before) / elapsed,
            "learner_updates_per_s": done / elapsed,
            "learner_updates": self.updates,
            "epsilon": self.epsilon,
            **ray.get(self.replay.size.remote()),
            **{k: float(np.mean([s[k] for s in stats])) for k in stats[0]},
        }
        figures["replay_size"] = figures.pop("transitions")
        figures["replay_bytes"] = figures.pop("bytes")
        if self.metrics:
            for key in (
                "env_steps_per_s",
                "learner_updates_per_s",
                "replay_size",
                "td_error",
                "epsilon",
            ):
                self.metrics.gauge(key, key.replace("_", " ")).set(figures[key])
        return figures

    def _collect(self, info_ref) -> None:
        i, chunk_ref = self.in_flight.pop(info_ref)
        try:
            info = ray.get(info_ref)
        except ray.exceptions.RayActorError as exc:
            self.restarts += 1
            logger.warning("sampler %d died (%s); starting a replacement", i, exc)
            self._start_sampler(i)
            self.idle.append(i)
            return
        self.replay.add.remote(chunk_ref)
        self.chunks += 1
        self.env_steps += info.env_steps
        self.window.extend(info.episodes)
        if self.metrics:
            self.metrics.counter("env_steps", "Env steps sampled").inc(info.env_steps)
        if self.env_steps >= self.config.learning_starts:
            self.credit += self.config.updates_per_batch
        self.idle.append(i)

    def _start_update(self) -> None:
        if self.update_ref is None and self.credit > 0:
            self.credit -= 1
            self.update_ref = self.learner.update.remote(
                self.replay.sample.remote(self.config.batch_size)
            )

    # ---- state ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.config.checkpoint_replay:
            state["replay"] = ray.get(self.replay.state_dict.remote())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "replay" in state:
            ray.get(self.replay.load_state_dict.remote(state["replay"]))

    def _discard_in_flight(self) -> None:
        if self.update_ref is not None:
            ray.wait([self.update_ref])
            self.update_ref = None
        self.credit = 0
        ray.wait(list(self.in_flight), num_returns=len(self.in_flight))
        self.idle += [i for i, _ in self.in_flight.values()]
        self.in_flight.clear()
        self._launch_idle()

    def stop(self) -> None:
        for actor in [*self.samplers, self.learner, self.replay]:
            ray.kill(actor)
