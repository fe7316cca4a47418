"""Registers every env of `envs` with Ray Tune under its own name (RLlib `MultiAgentEnv`)."""

from __future__ import annotations

from ray.tune.registry import register_env

import envs


def _creator(name: str):
    return lambda env_config: envs.make_rllib(name, env_config)


def register_envs() -> list[str]:
    """Registers all envs in this process; returns their names. Idempotent."""
    for name in envs.names():
        register_env(name, _creator(name))
    return envs.names()
