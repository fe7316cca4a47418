"""Env registry: one name -> one batched core (our envs: a class and its config dataclass;
user envs: `envs.plugins`, by import path, `register_env` or entry point)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envs import board_games, plugins
from envs.core import BatchedEnv
from envs.grid_world import GridWorld
from envs.matrix_game import MatrixGame
from envs.pettingzoo_batch import Pistonball, SimpleSpread
from envs.resource_allocation import ResourceAllocation
from envs.schema import ConfigError, from_mapping
from envs.smart_grid import SmartGrid
from envs.two_step_game import TwoStepGame
from envs.vehicles import Vehicles

_CORES: dict[str, type[BatchedEnv]] = {
    cls.name: cls
    for cls in (
        GridWorld,
        MatrixGame,
        ResourceAllocation,
        SmartGrid,
        Vehicles,
        SimpleSpread,
        Pistonball,
        TwoStepGame,
    )
}


class UnknownEnvError(ConfigError):
    """The env name is not registered."""


def names() -> list[str]:
    """Our own env names, sorted (user envs: `plugins.user_names()`)."""
    return sorted(_CORES)


def is_builtin(name: str) -> bool:
    return name in _CORES


def core_class(name: str) -> type[BatchedEnv]:
    try:
        return _CORES[name]
    except KeyError:
        raise UnknownEnvError(
            f"unknown env {name!r}; registered envs: {', '.join(names())}; board games for "
            f"ALPHAZERO: {', '.join(board_games.names())}; or a user env: an import path "
            "'package.module:attribute' (PettingZoo, RLlib, Gymnasium or BatchedEnv), "
            "'package:GymnasiumId', a Gymnasium id such as CartPole-v1, or a name given to "
            "marl_ray.register_env"
        ) from None


def make_config(name: str, config: Mapping[str, Any] | None = None) -> Any:
    """The env's typed config built from `config`; unknown keys raise `ConfigError`.
    For a user env (or a Gymnasium id) `config` holds the factory's keyword arguments (and
    `wrappers`): the import and the wrappers are checked, and `config` is returned as is."""
    if name not in _CORES and plugins.is_user_env(name):
        plugins.resolve(name)
        plugins.split_config(config)
        return dict(config or {})
    if name not in _CORES and name in board_games.GAMES:
        return board_games.make_game_config(name, config)
    cls = core_class(name)
    # RLlib hands envs an EnvContext (a dict subclass); only its items are config.
    try:
        return from_mapping(cls.config_class, dict(config or {}), where="env.config")
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def make_batched(
    name: str,
    num_envs: int = 1,
    config: Mapping[str, Any] | None = None,
    render_mode: str | None = None,
) -> BatchedEnv:
    """The batched numpy core: `num_envs` copies stepped together. Besides our envs, a user
    env (`envs.plugins`: an import path, a Gymnasium id such as CartPole-v1, a registered
    name) gives its copies behind the same interface."""
    if name not in _CORES and plugins.is_user_env(name):
        return plugins.make_user_batched(name, num_envs, config, render_mode)
    return core_class(name)(
        num_envs=num_envs, config=make_config(name, config), render_mode=render_mode
    )


def make_rllib(
    name: str,
    config: Mapping[str, Any] | None = None,
    render_mode: str | None = None,
    view: str = "own",
):
    """An RLlib `MultiAgentEnv` over one copy of the core; `view` (own, global_state, peers)
    pairs observations with what some modules need (`envs.observation_views`)."""
    from envs.rllib_adapter import RLlibMultiAgentEnv

    return RLlibMultiAgentEnv(make_batched(name, 1, config, render_mode), view)


def make_parallel(
    name: str, config: Mapping[str, Any] | None = None, render_mode: str | None = None
):
    """A PettingZoo `ParallelEnv` over one copy of the core."""
    from envs.pettingzoo_adapter import PettingZooParallelEnv

    return PettingZooParallelEnv(make_batched(name, 1, config, render_mode))
