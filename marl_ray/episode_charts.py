"""Charts of one evaluated episode, for envs whose story is better told by a plot than by
frames: the smart grid's day and the resource allocation against its optimum.

`capture(core)` is called after every step of the rendered episode; `draw(records, path)`
writes the PNG.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EpisodeChart:
    capture: Callable[[Any], dict[str, Any]]
    draw: Callable[[list[dict[str, Any]], Path, str], Path]


def _smart_grid_capture(core) -> dict[str, Any]:
    return dict(core.history[-1]) if core.history else {}


def _smart_grid_draw(records: list[dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in records if r]
    hours = np.arange(len(records))
    get = lambda key: np.array([r[key] for r in records])  # noqa: E731
    fig, (ax_power, ax_price) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    supply = np.vstack([get("thermal"), get("renewable"), get("discharge")])
    ax_power.stackplot(
        hours,
        supply,
        labels=["thermal", "renewable", "storage discharge"],
        colors=["#78553c", "#2a9d3c", "#1d72f3"],
        alpha=0.8,
        step="post",
    )
    ax_power.step(
        hours,
        get("consumption") + get("charge"),
        where="post",
        color="#e63946",
        label="consumption + charging",
    )
    ax_power.step(
        hours,
        get("demand"),
        where="post",
        color="black",
        linestyle="--",
        label="demand before response",
    )
    ax_power.set_ylabel("MW")
    ax_power.legend(loc="upper left", fontsize=8)
    ax_power.set_title(title)
    ax_price.step(hours, get("price"), where="post", color="#8e44ad", label="price")
    ax_price.set_ylabel("$/MWh")
    ax_soc = ax_price.twinx()
    ax_soc.plot(hours, get("soc"), color="#1d72f3", label="state of charge")
    ax_soc.set_ylim(0, 1.05)
    ax_soc.set_ylabel("state of charge")
    ax_price.set_xlabel("step of the day")
    lines = ax_price.get_legend_handles_labels()
    soc_lines = ax_soc.get_legend_handles_labels()
    ax_price.legend(lines[0] + soc_lines[0], lines[1] + soc_lines[1], loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _allocation_capture(core) -> dict[str, Any]:
    return {
        "allocation": core.allocation[0].copy(),
        "optimal": core.optimal[0].copy(),
        "capacities": core.capacities.copy(),
        "welfare_fraction": float(
            (core.weights[0] * np.log1p(core.allocation[0])).sum()
            / max(core.optimal_utilitarian[0], 1e-12)
        ),
    }


def _allocation_draw(records: list[dict[str, Any]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    last = records[-1]
    alloc, optimal, caps = last["allocation"], last["optimal"], last["capacities"]
    agents, resources = alloc.shape
    fig, axes = plt.subplots(1, resources, figsize=(3.2 * resources, 3.6), sharey=False)
    axes = np.atleast_1d(axes)
    x = np.arange(agents)
    for m, ax in enumerate(axes):
        ax.bar(x - 0.2, alloc[:, m], width=0.4, label="learned", color="#1d72f3")
        ax.bar(x + 0.2, optimal[:, m], width=0.4, label="optimum", color="#aaaaaa")
        ax.set_xticks(x, [f"a{i}" for i in x])
        ax.set_title(f"resource {m} (capacity {caps[m]:g})", fontsize=9)
    axes[0].set_ylabel("allocated")
    axes[0].legend(fontsize=8)
    fractions = ", ".join(f"{r['welfare_fraction']:.2f}" for r in records)
    fig.suptitle(f"{title}\nutilitarian welfare / optimum per round: {fractions}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


CHARTS = {
    "smart_grid": EpisodeChart(_smart_grid_capture, _smart_grid_draw),
    "resource_allocation": EpisodeChart(_allocation_capture, _allocation_draw),
}
