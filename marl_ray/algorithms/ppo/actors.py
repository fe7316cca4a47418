"""PPO's learner as a Ray actor (its workers are the core's `SamplerActor`)."""

from __future__ import annotations

import time

import ray

from marl_ray.algorithms.core.device import select_device
from marl_ray.algorithms.ppo.config import PPOConfig
from marl_ray.algorithms.ppo.learner import PPOLearner


@ray.remote
class PPOLearnerActor:
    def __init__(self, config: PPOConfig):
        self.learner = PPOLearner(config, select_device(config.learner_gpus, "the PPO learner"))

    def update(self, env_steps: int, behaviour_version: int, *batches):
        """The learner's figures, with `update_s`: its wall time here."""
        start = time.perf_counter()
        stats = self.learner.update(list(batches), env_steps, behaviour_version)
        return {**stats, "update_s": time.perf_counter() - start}

    def get_weights(self):
        return self.learner.get_weights()

    def set_hyperparameters(self, lr=None, entropy_coef=None) -> None:
        self.learner.set_hyperparameters(lr, entropy_coef)

    def state_dict(self) -> dict:
        return self.learner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state)

    def device(self) -> str:
        return str(self.learner.device)
