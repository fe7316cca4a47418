"""Envs a user brings: by import path, by `register_env`, or by a package's entry point.

`env.name` forms (besides our own envs and registered Gymnasium ids):
- `package.module:attribute`: a PettingZoo `ParallelEnv` (or AEC env every agent of which
  acts once per cycle) class or factory, an RLlib `MultiAgentEnv` subclass or factory, a
  Gymnasium env class or factory, or a subclass of `envs.core.BatchedEnv` (the fast path);
- `package:EnvId`: a Gymnasium id that importing `package` registers (EPyMARL's form, e.g.
  `lbforaging:Foraging-8x8-2p-2f-coop-v3`);
- a name given to `register_env(name, factory)` in Python, or declared by an installed
  package in the `marl_ray.envs` entry-point group (`name = "pkg.module:factory"`).

`env.config` is passed to the factory as keyword arguments (an RLlib `MultiAgentEnv` class
whose constructor takes `config` gets the mapping whole, RLlib's convention). `wrappers`, a
list of SuperSuit wrappers by name with their arguments, is applied in order to each copy.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from envs.core import BatchedEnv
from envs.schema import ConfigError, from_mapping

ENTRY_POINT_GROUP = "marl_ray.envs"
WRAPPERS_KEY = "wrappers"
"""The key of `env.config` (as the core receives it) that holds `env.wrappers`."""
EXTRAS = {"lbforaging": "envs", "mpe2": "envs", "rware": "envs"}
"""Packages our optional extras install (`pip install 'marl-ray[envs]'`)."""

_REGISTERED: dict[str, Any] = {}


def register_env(name: str, factory: Any) -> None:
    """Makes `name` usable as `env.name` in this process (and in Ray workers that import the
    module doing the registration). `factory`: any object an import path may name."""
    if not isinstance(name, str) or not name or ":" in name:
        raise ConfigError(
            f"register_env: name must be a non-empty string without ':', got {name!r}"
        )
    if not callable(factory):
        raise ConfigError(f"register_env({name!r}): factory must be callable, got {factory!r}")
    _REGISTERED[name] = factory


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def user_names() -> list[str]:
    """Names registered in this process or by installed packages' entry points."""
    return sorted({*_REGISTERED, *_entry_points()})


def is_user_env(name: str) -> bool:
    """`name` is an import path, a Gymnasium id or a user-registered name (checked after our
    own envs)."""
    return ":" in name or name in _REGISTERED or name in gym.registry or name in _entry_points()


def describe(name: str) -> str:
    """Where a user-registered name comes from (for `marl-ray envs`)."""
    if name in _REGISTERED:
        return f"registered in Python: {_qualified(_REGISTERED[name])}"
    return f"entry point {_entry_points()[name].value}"


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def import_module(module: str, name: str):
    # Like `python -m`: the working directory is importable (a user's project folder).
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        hint = (
            f"; install it with: pip install 'marl-ray[{EXTRAS[top]}]'"
            if top in EXTRAS and exc.name == top
            else "; the module must be importable (installed, in the working directory, or "
            "shipped with `marl-ray submit --working-dir`)"
        )
        raise ConfigError(f"env {name!r}: cannot import {module!r} ({exc}){hint}") from None


def resolve(name: str) -> Any:
    """The object `name` refers to: a class, a factory, or a Gymnasium id (a `str`)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in gym.registry:
        return name
    points = _entry_points()
    if name in points:
        try:
            return points[name].load()
        except Exception as exc:
            raise ConfigError(
                f"env {name!r}: its entry point {points[name].value} failed to load: {exc}"
            ) from None
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"env {name!r}: an import path is 'package.module:attribute'")
    module = import_module(module_name, name)
    obj = module
    for part in attribute.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if obj is not None:
        return obj
    if attribute in gym.registry:  # `package:EnvId`, registered by importing the package
        return attribute
    raise ConfigError(
        f"env {name!r}: module {module_name!r} has no attribute {attribute!r} and "
        f"{attribute!r} is not a Gymnasium id it registered"
    )


def batched_class(obj: Any) -> type[BatchedEnv] | None:
    return obj if isinstance(obj, type) and issubclass(obj, BatchedEnv) else None


def _rllib_class(obj: Any) -> bool:
    try:
        from ray.rllib.env.multi_agent_env import MultiAgentEnv
    except ImportError:  # pragma: no cover - ray is a dependency
        return False
    return isinstance(obj, type) and issubclass(obj, MultiAgentEnv)


def instantiate(obj: Any, name: str, config: Mapping[str, Any], render_mode: str | None) -> Any:
    """One env from `obj` (a Gymnasium id, a class or a factory) with `config` as keywords."""
    config = dict(config)
    if isinstance(obj, str):
        try:
            # Our own checks (check-env) replace the passive checker, which warns on every
            # multi-agent reward list.
            return gym.make(obj, render_mode=render_mode, disable_env_checker=True, **config)
        except TypeError as exc:
            raise ConfigError(
                f"env {name!r}: gym.make({obj!r}) refused env.config: {exc}"
            ) from None
    if not callable(obj):
        raise ConfigError(
            f"env {name!r} names {type(obj).__name__} {obj!r}, which is not a class or factory; "
            "accepted: a PettingZoo ParallelEnv, an RLlib MultiAgentEnv, a Gymnasium Env (class "
            "or factory), a Gymnasium id, or a subclass of envs.core.BatchedEnv"
        )
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if _rllib_class(obj) and "config" in params and "config" not in config:
        args, kwargs = (config,), {}  # RLlib's convention: the env config whole
    else:
        unknown = [k for k in config if k not in params] if params and not takes_any else []
        if unknown:
            allowed = [p for p in params if params[p].kind is not inspect.Parameter.VAR_POSITIONAL]
            raise ConfigError(
                f"env {name!r}: unknown env.config key(s) {', '.join(unknown)}; "
                f"{_qualified(obj)} accepts: {', '.join(allowed) or 'no arguments'}"
            )
        args, kwargs = (), config
    if render_mode is not None and ("render_mode" in params or takes_any):
        kwargs = {**kwargs, "render_mode": render_mode}
    try:
        return obj(*args, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"env {name!r}: {_qualified(obj)}(...) failed: {exc}") from None


# ---- SuperSuit wrappers ----------------------------------------------------------------


def wrapper_names() -> list[str]:
    import supersuit

    return sorted(n for n in dir(supersuit) if re.fullmatch(r"[a-z_]+_v\d+", n))


def parse_wrappers(specs: Any) -> list[tuple[str, dict[str, Any]]]:
    """`[{name: {arg: value}}, "name", ...]` checked against SuperSuit: unknown wrappers or
    arguments raise `ConfigError` naming the allowed ones."""
    if specs is None:
        return []
    if not isinstance(specs, list | tuple):
        raise ConfigError(f"env.wrappers must be a list, got {type(specs).__name__}")
    import supersuit

    allowed = wrapper_names()
    out = []
    for i, spec in enumerate(specs):
        if isinstance(spec, str):
            spec = {spec: {}}
        if not isinstance(spec, Mapping) or len(spec) != 1:
            raise ConfigError(
                f"env.wrappers[{i}] must be a wrapper name or a one-key mapping "
                f"{{name: {{argument: value}}}}, got {spec!r}"
            )
        ((wrapper, args),) = spec.items()
        if wrapper not in allowed:
            raise ConfigError(
                f"env.wrappers[{i}]: unknown SuperSuit wrapper {wrapper!r}; allowed: "
                f"{', '.join(allowed)}"
            )
        args = dict(args or {})
        params = list(inspect.signature(getattr(supersuit, wrapper)).parameters)[1:]
        unknown = [k for k in args if k not in params]
        if unknown:
            raise ConfigError(
                f"env.wrappers[{i}] {wrapper}: unknown argument(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(params) or 'none'}"
            )
        out.append((wrapper, args))
    return out


def apply_wrappers(env: Any, wrappers: list[tuple[str, dict[str, Any]]]) -> Any:
    import supersuit

    for wrapper, args in wrappers:
        try:
            env = getattr(supersuit, wrapper)(env, **args)
        except (AssertionError, TypeError, ValueError) as exc:
            raise ConfigError(f"env.wrappers {wrapper}({args}): {exc}") from None
    return env


# ---- the batched core of a user env ---------------------------------------------------


def split_config(config: Mapping[str, Any] | None) -> tuple[dict[str, Any], list]:
    """(`env.config` for the factory, parsed `env.wrappers`)."""
    config = dict(config or {})
    return config, parse_wrappers(config.pop(WRAPPERS_KEY, None))


def make_user_batched(
    name: str, num_envs: int, config: Mapping[str, Any] | None, render_mode: str | None
) -> BatchedEnv:
    """`num_envs` copies of the user env `name` behind the batched interface."""
    from envs.foreign import CopiesBatch

    obj = resolve(name)
    kwargs, wrappers = split_config(config)
    cls = batched_class(obj)
    if cls is not None:
        if wrappers:
            raise ConfigError(f"env {name!r} is a BatchedEnv: env.wrappers apply to other APIs")
        core_config = (
            from_mapping(cls.config_class, kwargs, where="env.config")
            if hasattr(cls, "config_class")
            else kwargs
        )
        return cls(num_envs=num_envs, config=core_config, render_mode=render_mode)

    def make_env(mode: str | None) -> Any:
        return apply_wrappers(instantiate(obj, name, kwargs, mode), wrappers)

    return CopiesBatch(make_env, name, num_envs, render_mode)


def make_user_env(name: str, config: Mapping[str, Any] | None, render_mode: str | None = None):
    """One env of user env `name` as its own API presents it, wrappers applied."""
    kwargs, wrappers = split_config(config)
    return apply_wrappers(instantiate(resolve(name), name, kwargs, render_mode), wrappers)
