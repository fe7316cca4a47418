"""Ray actors: thin wrappers that host the A3C worker and the parameter server."""

from __future__ import annotations

import ray

from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.a3c.server import build_parameter_server
from marl_ray.algorithms.a3c.worker import A3CWorker
from marl_ray.algorithms.core.device import select_device


@ray.remote
class A3CWorkerActor:
    def __init__(self, config: A3CConfig, worker_index: int):
        self.worker = A3CWorker(config, worker_index)

    @ray.method(num_returns=2)
    def compute_gradients(self, weights):
        return self.worker.compute_gradients(weights)


@ray.remote
class ParameterServerActor:
    def __init__(self, config: A3CConfig):
        device = select_device(config.learner_gpus, "the A3C parameter server")
        self.server = build_parameter_server(config, device)

    def get_weights(self):
        return self.server.get_weights()

    def apply_gradients(self, grads, version: int) -> bool:
        return self.server.apply_gradients(grads, version)

    def counters(self) -> dict[str, int]:
        s = self.server
        return {"version": s.version, "applied": s.applied, "dropped_stale": s.dropped_stale}

    def set_lr(self, lr: float) -> None:
        self.server.set_lr(lr)

    def state_dict(self) -> dict:
        return self.server.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.server.load_state_dict(state)

    def device(self) -> str:
        return str(self.server.device)
