"""Tune trainables that build their RLlib algorithm from an experiment mapping.

Tune hands a trainable the resolved `param_space`: `{"experiment": {...}, "search": {dotted
key: sampled value}}`. Building the `AlgorithmConfig` inside the trial means any experiment
key (model sizes, policy setup, env config) can be searched, not only RLlib's own keys.
"""

from __future__ import annotations

import time
from typing import Any

from ray.tune.result import TRIAL_INFO

from marl_ray.algorithms.core.device import select_device
from marl_ray.manifest import write_manifest
from marl_ray.metrics import AlgorithmMetrics
from marl_ray.param_space import experiment_from_param_space
from marl_ray.rllib.algorithm_config import ALGORITHM_CLASSES, build_algorithm_config
from marl_ray.rllib.registration import register_envs


def to_algorithm_config(config: Any, *, in_trial: bool = False):
    if not isinstance(config, dict) or "experiment" not in config:
        return config  # already an AlgorithmConfig (restores, RLlib internals)
    exp, gpus = experiment_from_param_space(config)
    if in_trial and gpus > 0 and select_device(gpus, "the RLlib learner").type == "cpu":
        gpus = 0
    return build_algorithm_config(exp, learner_gpus=gpus)


def experiment_name(config: Any) -> str:
    if isinstance(config, dict) and "experiment" in config:
        return str(config["experiment"].get("name", "unnamed"))
    return "unnamed"


def _experiment_trainable(algorithm: str) -> type:
    base = ALGORITHM_CLASSES[algorithm]

    class ExperimentAlgorithm(base):
        @classmethod
        def default_resource_request(cls, config):
            return base.default_resource_request(to_algorithm_config(config))

        def __init__(self, config=None, *args, **kwargs):
            register_envs()
            name = experiment_name(config)
            # Tune's trial info rides in the config dict, which becomes an AlgorithmConfig.
            trial_info = config.pop(TRIAL_INFO, None) if isinstance(config, dict) else None
            super().__init__(to_algorithm_config(config, in_trial=True), *args, **kwargs)
            self._trial_info = trial_info or self._trial_info
            trial = self.trial_id if trial_info else f"local-{id(self):x}"
            self.dashboard_metrics = AlgorithmMetrics(algorithm.lower(), name, trial)

        def save_checkpoint(self, checkpoint_dir: str):
            """RLlib's checkpoint, then the signed manifest of its files."""
            out = super().save_checkpoint(checkpoint_dir)
            write_manifest(checkpoint_dir)
            return out

        def step(self):
            start = time.perf_counter()
            result = super().step()
            # Our algorithms' key for replaced sampling workers, so every trial reports it.
            group = getattr(self, "env_runner_group", None)
            result["worker_restarts"] = group.num_remote_worker_restarts() if group else 0
            self.dashboard_metrics.report_result(
                {**result, "training_iteration": self.iteration + 1}, time.perf_counter() - start
            )
            return result

    ExperimentAlgorithm.__name__ = ExperimentAlgorithm.__qualname__ = f"Experiment{algorithm}"
    ExperimentAlgorithm.__module__ = __name__
    return ExperimentAlgorithm


# Module-level names, so trial actors and checkpoints can pickle the classes by reference.
ExperimentPPO = _experiment_trainable("PPO")
ExperimentAPPO = _experiment_trainable("APPO")
ExperimentIMPALA = _experiment_trainable("IMPALA")
ExperimentDQN = _experiment_trainable("DQN")
ExperimentSAC = _experiment_trainable("SAC")

TRAINABLES = {name: globals()[f"Experiment{name}"] for name in ALGORITHM_CLASSES}
