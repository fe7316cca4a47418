"""Distributed PPO as a Tune `Trainable`; learning rate and entropy change at run time (PBT)."""

from __future__ import annotations

from typing import Any

from marl_ray.algorithms.core.policy_map import slot_policies
from marl_ray.algorithms.ppo.config import PPOConfig, ppo_config
from marl_ray.algorithms.ppo.driver import LEARNER_CPUS, PPODriver
from marl_ray.algorithms.ppo.learner import build_policies
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

    @classmethod
    def acting_policies(cls, exp, state):
        """One network per policy of the checkpoint's `multi_agent.policies` setup."""
        core, groups, nets = build_policies(cls.build_config(exp, 0))
        policies = {}
        for policy_id, net in nets.items():
            net.load_state_dict(state["policy_weights"][policy_id])
            net.eval()
            policies[policy_id] = net.policy
        return policies, slot_policies(core, groups).__getitem__

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
