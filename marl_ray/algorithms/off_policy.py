"""The off-policy loop on Ray, shared by IQL/VDN/QMIX and MADDPG.

Samplers (`<algo>/<trial>/sampler-<i>`) each keep one chunk in flight on the newest
published weights. A finished chunk goes to the replay actor (`<algo>/<trial>/replay`) by
reference (the driver never holds it) and, once `learning_starts` env steps are sampled,
earns `updates_per_batch` learner updates; the learner (`<algo>/<trial>/learner`) takes one
uniformly sampled batch of sequences per update straight from the replay actor, one update
in flight at a time, and its weights are published every `broadcast_interval` updates.
Samplers wait while more than twice a round of updates is owed, so sampling never runs
unboundedly ahead of learning (the replay ratio holds). A sampler that dies is replaced;
its chunk is lost and counted nowhere.

An algorithm gives its sampler and learner factories (module-level functions of the config,
so Ray can ship them) and the arguments of each rollout call (epsilon for the Q learners).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
import ray
import torch

from marl_ray.algorithms.core.actor_names import ActorNames
from marl_ray.algorithms.core.device import select_device
from marl_ray.algorithms.core.replay import SequenceReplay
from marl_ray.algorithms.core.rollout import EpisodeStats, EpisodeWindow
from marl_ray.algorithms.core.transfer import TransferCount, nbytes
from marl_ray.algorithms.learner_driver import LearnerDriver
from marl_ray.algorithms.stall import WorkClock, first_ready
from marl_ray.algorithms.trainable import NO_SLOTS, BundleSlots, DistributedTrainable
from marl_ray.metrics import AlgorithmMetrics

logger = logging.getLogger(__name__)

LEARNER_CPUS = 0.5
REPLAY_CPUS = 0.25
GAUGES = ("env_steps_per_s", "learner_updates_per_s", "replay_size")


class ChunkInfo(NamedTuple):
    env_steps: int
    episodes: list[EpisodeStats]
    chunk_bytes: int  # the chunk sent to the replay actor
    weights_bytes: int  # weights loaded for it (0 when the version had not changed)


@ray.remote
class OffPolicySampler:
    def __init__(self, make_sampler: Callable, config: Any, seed: int):
        self.sampler = make_sampler(config, seed)
        self.length = config.sequence_length
        self.version = -1

    @ray.method(num_returns=2)
    def rollout(self, weights, *args):
        version, state = weights
        weights_bytes = 0
        if version != self.version:
            self.sampler.set_weights(state)
            self.version = version
            weights_bytes = nbytes(state)
        before = self.sampler.env_steps
        chunk = self.sampler.rollout(self.length, *args)
        info = ChunkInfo(
            self.sampler.env_steps - before,
            self.sampler.tracker.drain(),
            nbytes(chunk),
            weights_bytes,
        )
        return chunk, info


@ray.remote
class ReplayActor:
    def __init__(self, config: Any):
        self.replay = SequenceReplay(config.buffer_capacity, config.sequence_length, config.seed)

    def add(self, chunk: dict[str, torch.Tensor]) -> int:
        self.replay.add(chunk)
        return len(self.replay)

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        return self.replay.sample(batch_size)

    def size(self) -> dict[str, int]:
        return {"replay_size": len(self.replay), "replay_bytes": self.replay.nbytes}

    def state_dict(self) -> dict:
        return self.replay.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.replay.load_state_dict(state)


@ray.remote
class OffPolicyLearner:
    def __init__(self, make_learner: Callable, config: Any):
        self.learner = make_learner(config, select_device(config.learner_gpus, "the learner"))

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return {**self.learner.update(batch), "batch_bytes": nbytes(batch)}

    def get_weights(self):
        return self.learner.get_weights()

    def state_dict(self) -> dict:
        return self.learner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state)

    def device(self) -> str:
        return str(self.learner.device)


class OffPolicyDriver(LearnerDriver):
    COUNTERS = ("env_steps", "chunks", "updates", "restarts")
    make_sampler: ClassVar[Callable]
    make_learner: ClassVar[Callable]
    learner_gauges: ClassVar[tuple[str, ...]] = ()

    def rollout_args(self) -> tuple:
        """Extra arguments of every sampler call (e.g. the current epsilon)."""
        return ()

    def __init__(
        self,
        config: Any,
        name_prefix: str,
        metrics: AlgorithmMetrics | None,
        slots: BundleSlots = NO_SLOTS,
    ):
        self.config = config
        self.metrics = metrics
        self.slots = slots  # bundle 0: the learner, 1: the replay, 2 + i: sampler i
        self.learner = OffPolicyLearner.options(
            name=f"{name_prefix}/learner",
            num_cpus=LEARNER_CPUS,
            num_gpus=config.learner_gpus,
            **slots.options(0),
        ).remote(type(self).make_learner, config)
        self.replay = ReplayActor.options(
            name=f"{name_prefix}/replay", num_cpus=REPLAY_CPUS, **slots.options(1)
        ).remote(config)
        self.names = ActorNames(name_prefix, "sampler")
        self.samplers: list[Any] = [None] * config.num_samplers
        for i in range(config.num_samplers):
            self._start_sampler(i)
        self.env_steps = self.chunks = self.updates = self.restarts = 0
        self.work = WorkClock()
        self.window = EpisodeWindow(100)
        self.transfer = TransferCount()
        self.credit = 0  # updates owed to the chunks sampled
        self.max_credit = config.updates_per_batch * config.num_samplers * 2
        self.update_ref = None
        self.in_flight: dict[Any, tuple[int, Any]] = {}  # info ref -> (sampler, chunk ref)
        self.idle = list(range(config.num_samplers))
        self.weights = self.learner.get_weights.remote()
        self._launch_idle()

    def _start_sampler(self, i: int) -> None:
        name, seed_index = self.names.next(i, replacement=self.samplers[i] is not None)
        self.samplers[i] = OffPolicySampler.options(
            name=name, num_cpus=self.config.num_cpus_per_sampler, **self.slots.options(2 + i)
        ).remote(type(self).make_sampler, self.config, self.config.seed * 10_007 + seed_index)

    def _launch_idle(self) -> None:
        while self.idle and self.credit < self.max_credit:
            i = self.idle.pop(0)
            refs = self.samplers[i].rollout.remote(self.weights, *self.rollout_args())
            chunk_ref, info_ref = refs
            self.in_flight[info_ref] = (i, chunk_ref)

    def train(self, num_updates: int | None = None) -> dict[str, Any]:
        num_updates = num_updates or self.config.updates_per_iteration
        start, steps_before, done = time.time(), self.env_steps, 0
        stats: list[dict[str, float]] = []
        while done < num_updates:
            self._start_update()
            waiting = list(self.in_flight) + ([self.update_ref] if self.update_ref else [])
            ref = first_ready(waiting, self.stall_timeout_s, "sampler chunk or update")
            if ref is self.update_ref:
                stats.append(ray.get(ref))
                self.transfer.add("replay_batch", stats[-1].pop("batch_bytes"))
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
            **self.extra_figures(),
            **self.transfer.figures(elapsed),
            **ray.get(self.replay.size.remote()),
            **{k: float(np.mean([s[k] for s in stats])) for k in stats[0]},
        }
        if self.metrics:
            for key in (*GAUGES, *self.learner_gauges):
                self.metrics.gauge(key, key.replace("_", " ")).set(figures[key])
        return figures

    def extra_figures(self) -> dict[str, float]:
        return {}

    def _collect(self, info_ref) -> None:
        i, chunk_ref = self.in_flight.pop(info_ref)
        try:
            info = ray.get(info_ref)
        except ray.exceptions.RayActorError as exc:
            self.work.check(self.stall_timeout_s, "sampler chunk")
            self.restarts += 1
            logger.warning("sampler %d died (%s); starting a replacement", i, exc)
            self._start_sampler(i)
            self.idle.append(i)
            return
        self.work.worked()
        self.replay.add.remote(chunk_ref)
        self.transfer.add("chunk", info.chunk_bytes)
        self.transfer.add("weights", info.weights_bytes)
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

    def actors(self) -> list[Any]:
        return [*self.samplers, self.learner, self.replay]


class OffPolicyTrainable(DistributedTrainable):
    """A Tune trainable of the off-policy loop: the learner, the replay actor and the
    samplers each get a bundle of the trial's placement group."""

    driver_class: ClassVar[type[OffPolicyDriver]]

    @classmethod
    def bundles(cls, config: Any) -> list[dict[str, float]]:
        samplers = [{"CPU": config.num_cpus_per_sampler}] * config.num_samplers
        learner = {"CPU": LEARNER_CPUS, "GPU": config.learner_gpus}
        return [learner, {"CPU": REPLAY_CPUS}, *samplers]

    def make_driver(self, config, name_prefix, metrics, slots):
        return self.driver_class(config, name_prefix, metrics, slots)
