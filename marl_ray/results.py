"""What a finished run leaves behind: learning curves and `summary.json`."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from marl_ray.config import METRIC_KEYS

CURVE_COLUMNS = {
    "episode_return_mean": METRIC_KEYS["episode_return_mean"],
    "success_rate": METRIC_KEYS["success_rate"],
}
STEPS = METRIC_KEYS["timesteps"]


def write_json_atomic(path: Path, data: Any) -> None:
    """Writes JSON through a temporary file and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, default=_jsonable)
        f.write("\n")
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def finite_or_none(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def plot_learning_curves(
    curves: dict[str, pd.DataFrame],
    path: Path,
    title: str,
    best: str | None = None,
    columns: dict[str, str] | None = None,
) -> Path:
    """Curves against env steps, a panel per entry of `columns` (label -> result column;
    default: return and success rate, 100-episode moving averages), one line per trial; the
    best trial drawn bold."""
    columns = columns or CURVE_COLUMNS
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [name for name, col in columns.items() if _has(curves, col)]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(6 * max(len(panels), 1), 4))
    axes = [axes] if not hasattr(axes, "__len__") else list(axes)
    for ax, panel in zip(axes, panels, strict=False):
        col = columns[panel]
        for trial, df in curves.items():
            if col not in df or STEPS not in df:
                continue
            bold = trial == best or len(curves) == 1
            ax.plot(
                df[STEPS],
                df[col],
                lw=2.2 if bold else 1.0,
                alpha=1 if bold else 0.5,
                label=trial if len(curves) > 1 else None,
            )
        ax.set_xlabel("env steps")
        ax.set_ylabel(panel.replace("_", " "))
        if panel == "success_rate":
            ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        if len(curves) > 1:
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _has(curves: dict[str, pd.DataFrame], col: str) -> bool:
    return any(col in df and df[col].notna().any() for df in curves.values())


def read_progress(path: Path) -> pd.DataFrame | None:
    """A trial's `progress.csv` (path to the file or its trial folder); None while it is
    missing or empty."""
    path = Path(path)
    if path.is_dir():
        path = path / "progress.csv"
    if not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def last_value(progress: pd.DataFrame | None, column: str) -> float | None:
    """A result column's last finite value in a trial's progress (None when it has none)."""
    if progress is None or column not in progress:
        return None
    values = progress[column].dropna()
    return finite_or_none(values.iloc[-1]) if len(values) else None
