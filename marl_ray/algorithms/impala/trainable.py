"""IMPALA as a Tune `Trainable`; learning rate and entropy change at run time (PBT)."""

from __future__ import annotations

from marl_ray.algorithms.impala.config import ImpalaConfig, impala_config
from marl_ray.algorithms.impala.driver import LEARNER_CPUS, ImpalaDriver
from marl_ray.algorithms.trainable import DistributedTrainable


class ImpalaTrainable(DistributedTrainable):
    algorithm = "MARL_IMPALA"

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return impala_config(exp, learner_gpus)

    @classmethod
    def bundles(cls, config: ImpalaConfig):
        actors = [{"CPU": config.num_cpus_per_actor}] * config.num_actors
        return [{"CPU": LEARNER_CPUS, "GPU": config.learner_gpus}, *actors]

    def make_driver(self, config, name_prefix, metrics, slots):
        return ImpalaDriver(config, name_prefix, metrics, slots)
