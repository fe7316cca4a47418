"""IMPALA's learner as a Ray actor (its rollout actors are the core's `SamplerActor`)."""

from __future__ import annotations

import ray

from marl_ray.algorithms.core.device import select_device
from marl_ray.algorithms.impala.config import ImpalaConfig
from marl_ray.algorithms.impala.learner import ImpalaLearner


@ray.remote
class ImpalaLearnerActor:
    def __init__(self, config: ImpalaConfig):
        device = select_device(config.learner_gpus, "the IMPALA learner")
        self.learner = ImpalaLearner(config, device)

    def update(self, versions: list[int], *trajectories):
        return self.learner.update(list(trajectories), versions)

    def get_weights(self):
        return self.learner.get_weights()

    def set_hyperparameters(self, lr=None, entropy_coef=None) -> None:
        self.learner.set_hyperparameters(lr, entropy_coef)

    def hyperparameters(self) -> dict[str, float]:
        return {"lr": self.learner.lr, "entropy_coef": self.learner.entropy_coef}

    def state_dict(self) -> dict:
        return self.learner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state)

    def device(self) -> str:
        return str(self.learner.device)
