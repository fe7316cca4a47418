"""Ray actors of IQL / VDN / QMIX: thin wrappers around the core's sampler, the replay
buffer and the learner."""

from __future__ import annotations

from typing import NamedTuple

import ray
import torch

from marl_ray.algorithms.core.device import select_device
from marl_ray.algorithms.core.q_rollout import QSampler
from marl_ray.algorithms.core.replay import SequenceReplay
from marl_ray.algorithms.core.rollout import EpisodeStats
from marl_ray.algorithms.value_decomposition.config import QConfig
from marl_ray.algorithms.value_decomposition.learner import QLearner, build_q_policies


class ChunkInfo(NamedTuple):
    env_steps: int
    episodes: list[EpisodeStats]


@ray.remote
class QSamplerActor:
    def __init__(self, config: QConfig, seed: int):
        _, groups, nets = build_q_policies(config)
        self.sampler = QSampler(
            config.env, config.env_config, config.num_envs_per_sampler, groups, nets, seed
        )
        self.length = config.sequence_length
        self.version = -1

    @ray.method(num_returns=2)
    def rollout(self, weights, epsilon: float):
        version, state = weights
        if version != self.version:
            self.sampler.set_weights(state)
            self.version = version
        before = self.sampler.env_steps
        chunk = self.sampler.rollout(self.length, epsilon)
        return chunk, ChunkInfo(self.sampler.env_steps - before, self.sampler.tracker.drain())


@ray.remote
class ReplayActor:
    def __init__(self, config: QConfig):
        self.replay = SequenceReplay(config.buffer_capacity, config.sequence_length, config.seed)

    def add(self, chunk: dict[str, torch.Tensor]) -> int:
        self.replay.add(chunk)
        return len(self.replay)

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        return self.replay.sample(batch_size)

    def size(self) -> dict[str, int]:
        return {"transitions": len(self.replay), "bytes": self.replay.nbytes}

    def state_dict(self) -> dict:
        return self.replay.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.replay.load_state_dict(state)


@ray.remote
class QLearnerActor:
    def __init__(self, config: QConfig):
        self.learner = QLearner(config, select_device(config.learner_gpus, "the Q learner"))

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return self.learner.update(batch)

    def get_weights(self):
        return self.learner.updates, self.learner.get_weights()

    def state_dict(self) -> dict:
        return {**self.learner.state_dict(), "weights": self.learner.policy_weights()}

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state)

    def device(self) -> str:
        return str(self.learner.device)
