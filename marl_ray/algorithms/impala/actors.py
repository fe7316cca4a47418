"""Ray actors: thin wrappers hosting IMPALA's rollout actors and its learner."""

from __future__ import annotations

from typing import NamedTuple

import ray

from marl_ray.algorithms.core.device import select_device
from marl_ray.algorithms.core.multi_agent_rollout import MultiAgentSampler
from marl_ray.algorithms.core.rollout import EpisodeStats
from marl_ray.algorithms.impala.config import ImpalaConfig
from marl_ray.algorithms.impala.learner import ImpalaLearner, build_policies


class TrajectoryInfo(NamedTuple):
    behaviour_version: int
    env_steps: int
    episodes: list[EpisodeStats]


@ray.remote
class ImpalaActor:
    def __init__(self, config: ImpalaConfig, actor_index: int):
        seed = config.seed * 10_007 + actor_index
        _, groups, nets = build_policies(config)
        self.sampler = MultiAgentSampler(
            config.env, config.env_config, config.num_envs_per_actor, groups, nets, seed
        )
        self.length = config.rollout_length
        self.version = -1

    @ray.method(num_returns=2)
    def rollout(self, weights):
        """One trajectory per policy with the newest weights it was sent (loaded only when
        newer)."""
        version, state = weights
        if version != self.version:
            self.sampler.set_weights(state)
            self.version = version
        before = self.sampler.env_steps
        trajectory = self.sampler.rollout(self.length)
        info = TrajectoryInfo(
            self.version, self.sampler.env_steps - before, self.sampler.tracker.drain()
        )
        return trajectory, info


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
