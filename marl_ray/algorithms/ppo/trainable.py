"""Distributed PPO as a Tune `Trainable`; learning rate and entropy change at run time (PBT)."""

from __future__ import annotations

from marl_ray.algorithms.ppo.config import PPOConfig, ppo_config
from marl_ray.algorithms.ppo.driver import LEARNER_CPUS, PPODriver
from marl_ray.algorithms.trainable import DistributedTrainable


class PPOTrainable(DistributedTrainable):
    algorithm = "MARL_PPO"

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return ppo_config(exp, learner_gpus)

    @classmethod
    def bundles(cls, config: PPOConfig):
        workers = [{"CPU": config.num_cpus_per_worker}] * config.num_workers
        return [{"CPU": LEARNER_CPUS, "GPU": config.learner_gpus}, *workers]

    def make_driver(self, config, name_prefix, metrics, slots):
        return PPODriver(config, name_prefix, metrics, slots)
