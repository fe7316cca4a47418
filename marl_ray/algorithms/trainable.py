"""Tune `Trainable` shared by marl_ray's own algorithms.

A subclass names its algorithm and says how to build its config, its placement-group bundles
and its driver. The driver (the Ray-side training loop, an `ActorDriver`) offers `train()`,
`env_steps`, `window` (recent episodes), `restarts`, `state_dict()`, `load_state_dict()`,
`policy_weights(state)` (the acting network's weights in that state), `wait_started()` and
`stop()`.
Results use RLlib's keys, so stop criteria, metrics and plots work alike for every algorithm.
"""

from __future__ import annotations

import abc
import os
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import ray
import torch
from ray import tune
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

import envs
from marl_ray.algorithms.checkpoint import load_state, save_state
from marl_ray.algorithms.core.policy_map import SHARED_POLICY
from marl_ray.algorithms.core.transfer import TRANSFER_GAUGE
from marl_ray.config import ExperimentConfig
from marl_ray.metrics import AlgorithmMetrics
from marl_ray.param_space import experiment_from_param_space

HEAD_CPUS = 0.5  # the trial process itself only waits on results


class DistributedTrainable(tune.Trainable, abc.ABC):
    algorithm: ClassVar[str]

    # ---- what a subclass provides -------------------------------------------------------

    @classmethod
    @abc.abstractmethod
    def build_config(cls, exp: ExperimentConfig, learner_gpus: int) -> Any:
        """The algorithm's typed config from the experiment."""

    @classmethod
    @abc.abstractmethod
    def bundles(cls, config: Any) -> list[dict[str, float]]:
        """Resource bundles after the trial's own head bundle."""

    @abc.abstractmethod
    def make_driver(
        self, config: Any, name_prefix: str, metrics: AlgorithmMetrics, slots: BundleSlots
    ):
        """Starts the algorithm's actors (actor k of `bundles()` in `slots.options(k)`);
        returns its driver."""

    @classmethod
    def acting_policies(
        cls, exp: ExperimentConfig, state: dict[str, Any]
    ) -> tuple[dict[str, Callable[[torch.Tensor], torch.Tensor]], Callable[[str], str]]:
        """The checkpoint's policies (policy id -> core rows to distribution parameters in
        the env's own action units) and the agent -> policy id mapping. Algorithms on the
        multi-agent core (a config with `policies`) have a network per policy; the others
        one network shared by every agent (observations normalised where the state keeps
        statistics)."""
        config = cls.build_config(exp, 0)
        if hasattr(config, "policies"):
            from marl_ray.algorithms.core.policy_map import slot_policies
            from marl_ray.algorithms.core.policy_network import build_policies

            core, groups, nets = build_policies(config, cls.algorithm)
            for policy_id, net in nets.items():  # the checkpoint's weights replace the initial
                net.load_state_dict(state["policy_weights"][policy_id])
                net.eval()
            policies = {policy_id: net.policy for policy_id, net in nets.items()}
            return policies, slot_policies(core, groups).__getitem__
        from marl_ray.algorithms.core.rollout import build_policy_network

        env = envs.make_batched(exp.env.name, 1, exp.env.core_config)
        net = build_policy_network(env, config.network, seed=0)
        net.load_state_dict(state["policy_weights"])
        net.eval()
        if "obs_mean" in state:  # ES normalises observations with its running statistics
            mean, std = (
                torch.tensor(state[k], dtype=torch.float32) for k in ("obs_mean", "obs_std")
            )
            return {SHARED_POLICY: lambda obs: net((obs - mean) / std)[0]}, _shared
        return {SHARED_POLICY: lambda obs: net(obs)[0]}, _shared

    # ---- Tune hooks -------------------------------------------------------------------

    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> tune.PlacementGroupFactory:
        exp, gpus = experiment_from_param_space(config)
        bundles = [{"CPU": HEAD_CPUS}, *cls.bundles(cls.build_config(exp, gpus))]
        # Ray rejects empty bundles: actors that reserve nothing need none.
        bundles = [{k: v for k, v in b.items() if v > 0} for b in bundles]
        return tune.PlacementGroupFactory(
            [b for b in bundles if b], strategy=exp.resources.placement_strategy
        )

    def setup(self, config: dict[str, Any]) -> None:
        self.experiment, gpus = experiment_from_param_space(config)
        self.algo_config = self.build_config(self.experiment, gpus)
        trial = self.trial_id or f"local-{id(self):x}"
        name = self.algorithm.lower()
        self.metrics = AlgorithmMetrics(name, self.experiment.name, trial)
        slots = BundleSlots(self.bundles(self.algo_config), ray.util.get_current_placement_group())
        # Actor names carry this process's id too: with PBT's actor reuse, a trial may start
        # afresh in a new process while the process it left still holds its actors.
        prefix = f"{name}/{trial}@{os.getpid()}"
        self.driver = self.make_driver(self.algo_config, prefix, self.metrics, slots)
        self.driver.stall_timeout_s = self.experiment.resources.stall_timeout_s
        self.driver.wait_started()

    def step(self) -> dict[str, Any]:
        start = time.perf_counter()
        figures = self.driver.train()
        window = self.driver.window
        evaluation = figures.pop("evaluation", None)
        result = {
            "num_env_steps_sampled_lifetime": self.driver.env_steps,
            "env_runners": {**window.means(), "num_episodes_lifetime": window.total},
            "learners": {k: v for k, v in figures.items() if k != "env_steps_per_s"},
            "env_steps_per_s": figures["env_steps_per_s"],
            "worker_restarts": self.driver.restarts,
        }
        if evaluation is not None:
            result["evaluation"] = evaluation
        self.metrics.report_result(
            {**result, "training_iteration": self.iteration + 1}, time.perf_counter() - start
        )
        if TRANSFER_GAUGE in figures:  # bytes our actors handed each other (core/transfer.py)
            self.metrics.gauge(TRANSFER_GAUGE, "Bytes between actors per second").set(
                figures[TRANSFER_GAUGE]
            )
        return result

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        state = self.driver.state_dict()
        state["algorithm"] = self.algorithm
        state["policy_weights"] = self.driver.policy_weights(state)
        state["torch_rng"] = torch.get_rng_state()
        state["numpy_rng"] = _numpy_rng_state()
        save_state(checkpoint_dir, state)

    def load_checkpoint(self, checkpoint: str | dict | None) -> None:
        state = load_state(checkpoint)
        if state.get("algorithm") != self.algorithm:
            raise ValueError(f"{checkpoint} holds a {state.get('algorithm')} checkpoint")
        self.driver.load_state_dict(state)
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(_numpy_rng_tuple(state["numpy_rng"]))
        if hasattr(self.driver, "set_hyperparameters"):
            # This trial's own learning rate and entropy coefficient stay: after a PBT
            # exploit they are the explored values, not the donor's.
            self.driver.set_hyperparameters(self.algo_config.lr, self.algo_config.entropy_coef)

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Applies a new learning rate / entropy coefficient to the running learner (PBT),
        where the driver can change them (`set_hyperparameters`); otherwise Tune restarts the
        trial with the new config."""
        if not hasattr(self.driver, "set_hyperparameters"):
            return False
        exp, gpus = experiment_from_param_space(new_config)
        new = self.build_config(exp, gpus)
        self.driver.set_hyperparameters(new.lr, new.entropy_coef)
        self.algo_config = new
        return True

    def cleanup(self) -> None:
        self.driver.stop()


class BundleSlots:
    """Pins each of an algorithm's actors to its own bundle of the trial's placement group.

    Left to Ray, a 0.5-CPU learner may take half of a worker's 1-CPU bundle, and the worker
    then fits nowhere (pending forever). Bundle k of the algorithm's `bundles()` list is the
    group's bundle k + 1 (after the trial's own), counting only bundles that reserve
    something; outside a trial (no placement group) actors are scheduled as usual."""

    def __init__(self, bundles: list[dict[str, float]] | None = None, placement_group=None):
        self.placement_group = placement_group
        self.index: dict[int, int] = {}
        nonempty = 1
        for k, bundle in enumerate(bundles or []):
            if any(v > 0 for v in bundle.values()):
                self.index[k] = nonempty
                nonempty += 1

    def options(self, k: int) -> dict[str, Any]:
        """`.options(...)` keywords that place actor `k` in its bundle."""
        if self.placement_group is None or k not in self.index:
            return {}
        return {
            "scheduling_strategy": PlacementGroupSchedulingStrategy(
                self.placement_group, placement_group_bundle_index=self.index[k]
            )
        }


NO_SLOTS = BundleSlots()


def _shared(agent_id: str) -> str:
    return SHARED_POLICY


def _numpy_rng_state() -> dict[str, Any]:
    _, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "keys": torch.as_tensor(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def _numpy_rng_tuple(state: dict[str, Any]):
    keys = state["keys"].numpy().astype(np.uint32)
    return ("MT19937", keys, state["pos"], state["has_gauss"], state["cached"])
