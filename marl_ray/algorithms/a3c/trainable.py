"""A3C as a Tune `Trainable`."""

from __future__ import annotations

from marl_ray.algorithms.a3c.config import A3CConfig, a3c_config
from marl_ray.algorithms.a3c.driver import PS_CPUS, A3CDriver
from marl_ray.algorithms.trainable import DistributedTrainable


class A3CTrainable(DistributedTrainable):
    algorithm = "A3C"

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return a3c_config(exp, learner_gpus)

    @classmethod
    def bundles(cls, config: A3CConfig):
        workers = [{"CPU": config.num_cpus_per_worker}] * config.num_workers
        return [{"CPU": PS_CPUS, "GPU": config.learner_gpus}, *workers]

    def make_driver(self, config, name_prefix, metrics, slots):
        return A3CDriver(config, name_prefix, metrics, slots)
