"""Every policy's network and optimiser on the learner's device, with the hyperparameters
that change at run time (PBT) and the weights the learner publishes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from marl_ray.algorithms.core.policy_network import PolicyNetwork

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter], float], torch.optim.Optimizer]


class PolicySet:
    def __init__(
        self,
        nets: dict[str, PolicyNetwork],
        make_optimizer: OptimizerFactory,
        *,
        lr: float,
        entropy_coef: float,
        device: torch.device,
    ):
        self.device = device
        self.nets = {k: net.to(device) for k, net in nets.items()}
        self.optimizers = {k: make_optimizer(net.parameters(), lr) for k, net in self.nets.items()}
        self.lr, self.entropy_coef = lr, entropy_coef
        self.version = 0
        """Updates applied so far; published with the weights (policy lag)."""

    def get_weights(self) -> tuple[int, dict[str, dict[str, np.ndarray]]]:
        """(version, policy id -> numpy state dict): what workers load."""
        return self.version, {
            k: {n: v.detach().cpu().clone().numpy() for n, v in net.state_dict().items()}
            for k, net in self.nets.items()
        }

    def policy_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        return {
            k: {n: v.detach().cpu().clone() for n, v in net.state_dict().items()}
            for k, net in self.nets.items()
        }

    def set_hyperparameters(self, lr: float | None = None, entropy_coef: float | None = None):
        """Changes the learning rate or entropy coefficient of every policy (PBT, schedules)."""
        if lr is not None:
            self.lr = float(lr)
            for optimizer in self.optimizers.values():
                for group in optimizer.param_groups:
                    group["lr"] = self.lr
        if entropy_coef is not None:
            self.entropy_coef = float(entropy_coef)

    def state_dict(self) -> dict[str, Any]:
        return {
            "weights": self.policy_weights(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "version": self.version,
            "lr": self.lr,
            "entropy_coef": self.entropy_coef,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, net in self.nets.items():
            net.load_state_dict(state["weights"][k])
            self.optimizers[k].load_state_dict(state["optimizers"][k])
        self.version = int(state["version"])
        self.set_hyperparameters(float(state["lr"]), float(state["entropy_coef"]))


def mean_stats(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-key means of several updates' figures; per-policy dicts averaged key by key
    (a policy missing from some updates is averaged over those it has)."""
    out: dict[str, Any] = {}
    for key, first in stats[0].items():
        if isinstance(first, dict):
            out[key] = mean_stats([s[key] for s in stats if key in s])
        else:
            out[key] = float(np.mean([s[key] for s in stats if key in s]))
    return out
