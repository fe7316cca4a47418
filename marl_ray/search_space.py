"""Experiment-file search specs -> Ray Tune search domains."""

from __future__ import annotations

from typing import Any

from ray import tune


def to_domain(spec: dict[str, Any]) -> Any:
    """`{loguniform: [1e-4, 1e-2]}` -> `tune.loguniform(1e-4, 1e-2)` (spec already validated)."""
    ((kind, args),) = spec.items()
    if kind == "grid_search":
        return tune.grid_search(list(args))
    if kind == "choice":
        return tune.choice(list(args))
    if kind == "uniform":
        return tune.uniform(*args)
    if kind == "loguniform":
        return tune.loguniform(*args)
    if kind == "randint":
        # Tune's randint excludes the upper bound; ours includes it, as written in the file.
        return tune.randint(args[0], args[1] + 1)
    raise ValueError(f"unknown search type {kind!r}")


def to_param_space(search_space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {key: to_domain(spec) for key, spec in search_space.items()}
