"""Ray actors: thin wrappers hosting PPO's sampling workers and its learner."""

from __future__ import annotations

from typing import NamedTuple

import ray

from marl_ray.algorithms.core.device import select_device
from marl_ray.algorithms.core.multi_agent_rollout import MultiAgentSampler
from marl_ray.algorithms.core.rollout import EpisodeStats
from marl_ray.algorithms.ppo.config import PPOConfig
from marl_ray.algorithms.ppo.learner import PPOLearner, build_policies


class BatchInfo(NamedTuple):
    behaviour_version: int
    env_steps: int
    agent_steps: int
    episodes: list[EpisodeStats]


@ray.remote
class PPOWorker:
    def __init__(self, config: PPOConfig, worker_index: int):
        _, groups, nets = build_policies(config)
        seed = config.seed * 10_007 + worker_index
        self.sampler = MultiAgentSampler(
            config.env, config.env_config, config.num_envs_per_worker, groups, nets, seed
        )
        self.length = config.rollout_length
        self.version = -1

    @ray.method(num_returns=2)
    def rollout(self, weights):
        """One batch with the given weights (loaded only when newer than the last ones)."""
        version, state = weights
        if version != self.version:
            self.sampler.set_weights(state)
            self.version = version
        steps, agent_steps = self.sampler.env_steps, self.sampler.agent_steps
        batch = self.sampler.rollout(self.length)
        info = BatchInfo(
            self.version,
            self.sampler.env_steps - steps,
            self.sampler.agent_steps - agent_steps,
            self.sampler.tracker.drain(),
        )
        return batch, info


@ray.remote
class PPOLearnerActor:
    def __init__(self, config: PPOConfig):
        self.learner = PPOLearner(config, select_device(config.learner_gpus, "the PPO learner"))

    def update(self, env_steps: int, behaviour_version: int, *batches):
        return self.learner.update(list(batches), env_steps, behaviour_version)

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
