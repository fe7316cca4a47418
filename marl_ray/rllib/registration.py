"""Registers envs with Ray Tune under their own names (RLlib `MultiAgentEnv`): ours at start,
a user env (import path, Gymnasium id, registered name) when an experiment names it."""

from __future__ import annotations

from ray.tune.registry import register_env

import envs
from envs.observation_views import VIEWS


def env_id(name: str, view: str = "own") -> str:
    """The registered id of env `name` seen through `view` (`grid_world:global_state`)."""
    return name if view == "own" else f"{name}:{view}"


def _creator(name: str, view: str):
    return lambda env_config: envs.make_rllib(name, env_config, view=view)


def register_envs() -> list[str]:
    """Registers all envs in this process under every observation view (`env_id`); returns
    the env names. Idempotent."""
    for name in envs.names():
        for view in VIEWS:
            register_env(env_id(name, view), _creator(name, view))
    return envs.names()


def register_user_env(name: str) -> None:
    """Registers user env `name` under every observation view in this process (and, with Ray
    up, in the cluster's registry that env runners read)."""
    for view in VIEWS:
        register_env(env_id(name, view), _creator(name, view))
