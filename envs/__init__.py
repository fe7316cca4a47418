"""marl_ray environments: batched numpy cores with RLlib and PettingZoo views.

`names()` lists our envs; `make_batched`, `make_rllib` and `make_parallel` build the three
views of one dynamics implementation, for ours and for user envs (`register_env`, import
paths: `envs.plugins`).
"""

from envs.core import BatchedEnv, BatchStep, EnvActionError
from envs.plugins import register_env
from envs.registry import (
    UnknownEnvError,
    core_class,
    is_builtin,
    make_batched,
    make_config,
    make_parallel,
    make_rllib,
    names,
)
from envs.schema import ConfigError

__all__ = [
    "BatchStep",
    "BatchedEnv",
    "ConfigError",
    "EnvActionError",
    "UnknownEnvError",
    "core_class",
    "is_builtin",
    "make_batched",
    "make_config",
    "make_parallel",
    "make_rllib",
    "names",
    "register_env",
]
