"""Versioned weights with a server-side optimiser that applies pushed gradients."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}


class ParameterServer:
    """Holds the network; `apply_gradients` steps the optimiser with a worker's gradients
    unless they were computed on weights more than `max_staleness` versions old."""

    def __init__(
        self,
        net: nn.Module,
        *,
        optimizer: Literal["adam", "rmsprop"] = "adam",
        lr: float = 1e-3,
        max_staleness: int = 8,
        device: torch.device | str = "cpu",
    ):
        self.device = torch.device(device)
        self.net = net.to(self.device)
        self.params = list(self.net.parameters())
        self.optimizer = OPTIMIZERS[optimizer](self.params, lr=lr)
        self.max_staleness = max_staleness
        self.version = 0
        self.applied = 0
        self.dropped_stale = 0

    def get_weights(self) -> tuple[int, dict[str, np.ndarray]]:
        """(version, CPU numpy weights): a snapshot, one object for the object store."""
        state = self.net.state_dict()
        return self.version, {k: v.detach().cpu().clone().numpy() for k, v in state.items()}

    def apply_gradients(self, grads: list[np.ndarray], version: int) -> bool:
        """Applies gradients (one array per parameter, in `parameters()` order) computed on
        weights `version`; returns False if they were dropped as stale."""
        if self.version - version > self.max_staleness:
            self.dropped_stale += 1
            return False
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradient arrays, got {len(grads)}")
        for param, grad in zip(self.params, grads, strict=True):
            param.grad = torch.as_tensor(grad, device=self.device).reshape(param.shape)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.version += 1
        self.applied += 1
        return True

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def state_dict(self) -> dict:
        return {
            "weights": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "version": self.version,
            "applied": self.applied,
            "dropped_stale": self.dropped_stale,
        }

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = int(state["version"])
        self.applied = int(state["applied"])
        self.dropped_stale = int(state["dropped_stale"])
