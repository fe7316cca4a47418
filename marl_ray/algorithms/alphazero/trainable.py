"""AlphaZero as a Tune `Trainable`."""

from __future__ import annotations

from marl_ray.algorithms.alphazero.config import AlphaZeroConfig, alphazero_config
from marl_ray.algorithms.alphazero.driver import TRAINER_CPUS, AlphaZeroDriver
from marl_ray.algorithms.trainable import DistributedTrainable


class AlphaZeroTrainable(DistributedTrainable):
    algorithm = "ALPHAZERO"

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return alphazero_config(exp, learner_gpus)

    @classmethod
    def bundles(cls, config: AlphaZeroConfig):
        workers = [{"CPU": config.num_cpus_per_worker}] * config.num_workers
        return [{"CPU": TRAINER_CPUS, "GPU": config.learner_gpus}, *workers]

    def make_driver(self, config, name_prefix, metrics, slots):
        return AlphaZeroDriver(config, name_prefix, metrics, slots)
