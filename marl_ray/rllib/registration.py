"""Registers every env of `envs` with Ray Tune under its own name (RLlib `MultiAgentEnv`)."""

from __future__ import annotations

from ray.tune.registry import register_env

import envs

GLOBAL_STATE_SUFFIX = ":global_state"


def _creator(name: str, global_state: bool):
    return lambda env_config: envs.make_rllib(name, env_config, global_state=global_state)


def register_envs() -> list[str]:
    """Registers all envs in this process, each also as `<name>:global_state` (observations
    paired with the global state, for centralised critics); returns the names. Idempotent."""
    for name in envs.names():
        register_env(name, _creator(name, False))
        register_env(name + GLOBAL_STATE_SUFFIX, _creator(name, True))
    return envs.names()
