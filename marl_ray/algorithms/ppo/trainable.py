"""Distributed PPO as a Tune `Trainable`; learning rate and entropy change at run time (PBT)."""

from __future__ import annotations

from typing import Any

from marl_ray.algorithms.ppo.config import PPOConfig, ppo_config
from marl_ray.algorithms.ppo.driver import LEARNER_CPUS, PPODriver
from marl_ray.algorithms.trainable import DistributedTrainable
from marl_ray.param_space import experiment_from_param_space


class PPOTrainable(DistributedTrainable):
    algorithm = "MARL_PPO"

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return ppo_config(exp, learner_gpus)

    @classmethod
    def bundles(cls, config: PPOConfig):
        workers = [{"CPU": config.num_cpus_per_worker}] * config.num_workers
        return [{"CPU": LEARNER_CPUS, "GPU": config.learner_gpus}, *workers]

    def make_driver(self, config, name_prefix, metrics):
        return PPODriver(config, name_prefix, metrics)

    def load_checkpoint(self, checkpoint) -> None:
        """Restores the state; this trial's own learning rate and entropy coefficient stay
        (after a PBT exploit they are the explored values, not the donor's)."""
        super().load_checkpoint(checkpoint)
        self.driver.set_hyperparameters(self.algo_config.lr, self.algo_config.entropy_coef)

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Applies a new learning rate / entropy coefficient to the running learner."""
        exp, gpus = experiment_from_param_space(new_config)
        new = ppo_config(exp, gpus)
        self.driver.set_hyperparameters(new.lr, new.entropy_coef)
        self.algo_config = new
        return True
