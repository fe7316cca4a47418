"""ES as a Tune `Trainable`."""

from __future__ import annotations

from marl_ray.algorithms.es.config import ESConfig, es_config
from marl_ray.algorithms.es.driver import ESDriver
from marl_ray.algorithms.trainable import DistributedTrainable


class ESTrainable(DistributedTrainable):
    algorithm = "ES"

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return es_config(exp, learner_gpus)

    @classmethod
    def bundles(cls, config: ESConfig):
        return [{"CPU": config.num_cpus_per_worker}] * config.num_workers

    def make_driver(self, config, name_prefix, metrics, slots):
        return ESDriver(config, name_prefix, metrics, slots)
