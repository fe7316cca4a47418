"""IMPALA as a Tune `Trainable`; learning rate and entropy change at run time (PBT)."""

from __future__ import annotations

from typing import Any

from marl_ray.algorithms.impala.config import ImpalaConfig, impala_config
from marl_ray.algorithms.impala.driver import LEARNER_CPUS, ImpalaDriver
from marl_ray.algorithms.trainable import DistributedTrainable
from marl_ray.param_space import experiment_from_param_space


class ImpalaTrainable(DistributedTrainable):
    algorithm = "MARL_IMPALA"

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return impala_config(exp, learner_gpus)

    @classmethod
    def bundles(cls, config: ImpalaConfig):
        actors = [{"CPU": config.num_cpus_per_actor}] * config.num_actors
        return [{"CPU": LEARNER_CPUS, "GPU": config.learner_gpus}, *actors]

    def make_driver(self, config, name_prefix, metrics):
        return ImpalaDriver(config, name_prefix, metrics)

    def load_checkpoint(self, checkpoint) -> None:
        """Restores the state; this trial's own learning rate and entropy coefficient stay
        (after a PBT exploit they are the explored values, not the donor's)."""
        super().load_checkpoint(checkpoint)
        self.driver.set_hyperparameters(self.algo_config.lr, self.algo_config.entropy_coef)

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Applies a new learning rate / entropy coefficient to the running learner."""
        exp, gpus = experiment_from_param_space(new_config)
        new = impala_config(exp, gpus)
        self.driver.set_hyperparameters(new.lr, new.entropy_coef)
        self.algo_config = new
        return True
