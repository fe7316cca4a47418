"""A3C's parameter server built from the config, without Ray."""

from __future__ import annotations

import torch

import envs
from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.core.parameter_server import ParameterServer
from marl_ray.algorithms.core.rollout import build_policy_network


def build_parameter_server(config: A3CConfig, device: torch.device | str) -> ParameterServer:
    """The shared network (initial weights a function of `config.seed`) and its optimiser."""
    env = envs.make_batched(config.env, 1, config.env_config)
    return ParameterServer(
        build_policy_network(env, config.network, config.seed),
        optimizer=config.optimizer,
        lr=config.lr,
        max_staleness=config.max_staleness,
        device=device,
    )
