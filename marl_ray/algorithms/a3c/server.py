"""A3C's parameter server built from the config, without Ray.

Every policy's network lives in one `torch.nn.ModuleDict` (keys: policy ids), so the server
keeps one optimiser over all of them and a worker pushes one gradient list; Adam and RMSprop
scale each parameter on its own, so this is the same as one optimiser per policy (the
gradient-norm clip is taken over all policies together).
"""

from __future__ import annotations

import torch
from torch import nn

from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.core.parameter_server import ParameterServer
from marl_ray.algorithms.core.policy_map import PolicyGroup
from marl_ray.algorithms.core.policy_network import build_policies


def build_policy_modules(config: A3CConfig) -> tuple[list[PolicyGroup], nn.ModuleDict]:
    """A3C's policy groups and their networks in one module (initial weights a function of
    `config.seed`)."""
    _, groups, nets = build_policies(config, "A3C")
    return groups, nn.ModuleDict(nets)


def build_parameter_server(config: A3CConfig, device: torch.device | str) -> ParameterServer:
    """Every policy's network and one optimiser over them."""
    return ParameterServer(
        build_policy_modules(config)[1],
        optimizer=config.optimizer,
        lr=config.lr,
        max_staleness=config.max_staleness,
        device=device,
    )


def split_policy_weights(weights: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """A `ModuleDict` state dict (`<policy>.<name>`) -> policy id -> its own state dict."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in weights.items():
        policy_id, name = key.split(".", 1)
        out.setdefault(policy_id, {})[name] = value
    return out
