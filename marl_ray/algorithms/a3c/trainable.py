"""A3C as a Tune `Trainable`: resources as a placement group, checkpoints, results in the
same keys as RLlib's (so stop criteria, metrics and plots work alike)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from ray import tune

from marl_ray.algorithms.a3c.config import a3c_config
from marl_ray.algorithms.a3c.driver import PS_CPUS, A3CDriver
from marl_ray.algorithms.checkpoint import load_state, save_state
from marl_ray.metrics import AlgorithmMetrics
from marl_ray.rllib.trainables import experiment_from_param_space

HEAD_CPUS = 0.5  # the trainable itself: it only waits on results


class A3CTrainable(tune.Trainable):
    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> tune.PlacementGroupFactory:
        exp, gpus = experiment_from_param_space(config)
        a3c = a3c_config(exp, gpus)
        bundles = [{"CPU": HEAD_CPUS}, {"CPU": PS_CPUS, "GPU": gpus}]
        bundles += [{"CPU": a3c.num_cpus_per_worker}] * a3c.num_workers
        return tune.PlacementGroupFactory(bundles, strategy="PACK")

    def setup(self, config: dict[str, Any]) -> None:
        self.experiment, gpus = experiment_from_param_space(config)
        self.a3c = a3c_config(self.experiment, gpus)
        trial = self.trial_id or f"local-{id(self):x}"
        metrics = AlgorithmMetrics("a3c", self.experiment.name, trial)
        self.driver = A3CDriver(self.a3c, f"a3c/{trial}", metrics)
        self.started = time.time()

    def step(self) -> dict[str, Any]:
        figures = self.driver.train(self.a3c.updates_per_iteration)
        means = self.driver.window.means()
        return {
            "num_env_steps_sampled_lifetime": self.driver.env_steps,
            "env_runners": {**means, "num_episodes_lifetime": self.driver.window.total},
            "learners": {
                "gradients_applied": figures["applied"],
                "dropped_stale_gradients": figures["dropped_stale"],
                "weights_version": figures["version"],
                "updates_per_s": figures["updates_per_s"],
                **{f"{k}_loss": v for k, v in self.driver.last_losses.items()},
            },
            "env_steps_per_s": figures["env_steps_per_s"],
            "worker_restarts": self.driver.restarts,
        }

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        state = self.driver.state_dict()
        state["algorithm"] = "A3C"
        state["torch_rng"] = torch.get_rng_state()
        state["numpy_rng"] = _numpy_rng_state()
        save_state(checkpoint_dir, state)

    def load_checkpoint(self, checkpoint: str | dict | None) -> None:
        state = load_state(checkpoint)
        self.driver.load_state_dict(state)
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(_numpy_rng_tuple(state["numpy_rng"]))

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        return False

    def cleanup(self) -> None:
        self.driver.stop()


def _numpy_rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "keys": torch.as_tensor(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def _numpy_rng_tuple(state: dict[str, Any]):
    keys = state["keys"].numpy().astype(np.uint32)
    return ("MT19937", keys, state["pos"], state["has_gauss"], state["cached"])
