"""marl_ray environments: batched numpy cores with RLlib and PettingZoo views.

`names()` lists envs; `make_batched`, `make_rllib` and `make_parallel` build the three views
of one dynamics implementation.
"""

from envs.core import BatchedEnv, BatchStep, EnvActionError
from envs.registry import (
    UnknownEnvError,
    core_class,
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
    "make_batched",
    "make_config",
    "make_parallel",
    "make_rllib",
    "names",
]
