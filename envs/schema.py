"""Typed dataclass configs built from plain mappings (YAML, CLI, RLlib env_config).

`from_mapping(cls, data)` is the single validation edge: unknown keys, wrong types and bad
literal values raise `ConfigError` naming the offending key and what is allowed. Nested
dataclasses are built recursively, so a whole experiment file is checked in one call.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value or key is wrong; the message says which and what is allowed."""


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Builds dataclass `cls` from `data`, rejecting unknown keys and ill-typed values.

    `where` is the dotted path of `data` inside the enclosing document, used in messages.
    """
    if data is None:
        data = {}
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where or cls.__name__} must be a mapping of keys to values, got "
            f"{type(data).__name__} {data!r}"
        )
    allowed = field_names(cls)
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key {', '.join(prefix + k for k in unknown)}; "
            f"allowed keys{' in ' + where if where else ''}: {', '.join(allowed)}"
        )
    hints = get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        path = f"{where}.{name}" if where else name
        kwargs[name] = _coerce(hints[name], value, path)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    if origin is not None:
        return str(tp).replace("typing.", "")
    return getattr(tp, "__name__", str(tp))


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(f"{path}={value!r} is not allowed; allowed: {_type_name(tp)}")
        return value
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None and len(options) < len(get_args(tp)):
            return None
        if len(options) == 1 and dataclasses.is_dataclass(options[0]):
            # An optional section: its own message names the bad key inside it.
            return _coerce(options[0], value, path)
        errors = []
        for option in get_args(tp):
            try:
                return _coerce(option, value, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{path}={value!r} has the wrong type; expected {_type_name(tp)}")
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{path}={value!r}: expected null")
        return None
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}={value!r} has the wrong type; expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{path}={value!r} has the wrong type; expected an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}={value!r} has the wrong type; expected a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}={value!r} has the wrong type; expected a string")
        return value
    if origin in (list, tuple, typing.Sequence):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}={value!r} has the wrong type; expected a list")
        (item_tp, *rest) = get_args(tp) or (Any,)
        items = [_coerce(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}={value!r} has the wrong type; expected a mapping")
        return dict(value)
    return value


def check(condition: bool, message: str) -> None:
    """Raises `ConfigError(message)` unless `condition` holds (for `__post_init__` checks)."""
    if not condition:
        raise ConfigError(message)
