"""The report of a compare folder: per-metric tables (mean, median, IQM with 95 % stratified
bootstrap intervals), the probability of improvement of every pair, sample-efficiency curves
against env steps and wall time with interval bands, a performance profile, and a
`marl-eval` JSON file. Reads only the folder, so `marl-ray report` regenerates it."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marl_ray.compare.run import EVALUATION_FILE, trial_folders
from marl_ray.compare.spec import CompareSpec, searched
from marl_ray.config import METRIC_KEYS, SELF_PLAY_FIGURES, metric_key
from marl_ray.results import finite_or_none, last_value, read_progress, write_json_atomic
from marl_ray.stats import (
    AGGREGATES,
    aggregate_interval,
    curve_intervals,
    performance_profile,
    probability_of_improvement,
)
from marl_ray.storage import RunStorage

STEPS = METRIC_KEYS["timesteps"]
GRID_POINTS = 50
FILES = ("comparison.md", "comparison.json", "marl_eval.json", "curves.png", "profile.png")


LEARNER_UPDATES = "learners/learner_updates_per_s"
"""Our algorithms' learner updates per second in a trial's progress (iteration means)."""
THROUGHPUT_LABELS = ("env steps", "wall time", "learner updates")
"""Report labels of how fast a run went, not how well it learned (no probability of
improvement is computed on them)."""


@dataclass(frozen=True)
class Run:
    variant: str
    seed: int
    progress: pd.DataFrame | None
    evaluation: dict[str, Any] | None


@dataclass(frozen=True)
class Comparison:
    folder: Path
    markdown: Path
    figures: dict[str, dict[str, Any]]
    """metric label -> variant -> {"mean", "median", "iqm": {"value", "ci"}, "values"}."""
    improvement: dict[str, dict[str, Any]]
    """"X > Y" -> {"value", "ci"} on the primary figure."""
    primary: str


def load_runs(spec: CompareSpec, folder: Path) -> list[Run]:
    evaluation_file = folder / EVALUATION_FILE
    evaluations = json.loads(evaluation_file.read_text()) if evaluation_file.is_file() else {}
    runs = []
    for variant in spec.variants:
        for seed, trial in trial_folders(spec, variant, folder).items():
            progress = read_progress(trial)
            runs.append(
                Run(variant.name, seed, progress, evaluations.get(variant.name, {}).get(str(seed)))
            )
    return runs


def run_figures(spec: CompareSpec, run: Run) -> dict[str, float | None]:
    """Every figure of one run by its report label."""
    out: dict[str, float | None] = {}
    for short in ("episode_return_mean", "success_rate"):
        for mode in ("greedy", "sampled"):
            result = (run.evaluation or {}).get(mode)
            out[f"evaluation {short} ({mode})"] = finite_or_none((result or {}).get(short))
        out[f"final training {short}"] = last_value(run.progress, METRIC_KEYS[short])
    for figure in SELF_PLAY_FIGURES:
        value = ((run.evaluation or {}).get("greedy") or {}).get(figure)
        if value is not None:
            out[f"evaluation {figure} (greedy)"] = finite_or_none(value)
    if spec.metric not in ("episode_return_mean", "success_rate", *SELF_PLAY_FIGURES):
        out[f"final training {spec.metric}"] = last_value(run.progress, metric_key(spec.metric))
    steps, seconds = last_value(run.progress, STEPS), last_value(run.progress, "time_total_s")
    out["env steps"] = steps
    out["wall time (s)"] = seconds
    out["env steps/s"] = steps / seconds if steps and seconds else None
    updates = run.progress.get(LEARNER_UPDATES) if run.progress is not None else None
    if updates is not None and len(updates.dropna()):
        out["learner updates/s"] = finite_or_none(updates.dropna().mean())
    return out


def primary_label(spec: CompareSpec, labels: list[str]) -> str:
    """The figure the comparison is about: the tune metric on the greedy evaluation when
    evaluated, else its final training value."""
    for label in (f"evaluation {spec.metric} (greedy)", f"final training {spec.metric}"):
        if label in labels:
            return label
    return labels[0]


def build_comparison(folder: str | Path) -> Comparison:
    folder = Path(folder)
    spec = CompareSpec.read(folder)
    runs = load_runs(spec, folder)
    names = [v.name for v in spec.variants]
    per_run = {(r.variant, r.seed): run_figures(spec, r) for r in runs}
    labels = list(dict.fromkeys(k for f in per_run.values() for k in f))
    figures: dict[str, dict[str, Any]] = {}
    for label in labels:
        table = {}
        for name in names:
            values = [
                f[label]
                for (v, _), f in sorted(per_run.items())
                if v == name and f[label] is not None
            ]
            if values:
                table[name] = {
                    **{agg: aggregate_interval([values], agg) for agg in AGGREGATES},
                    "values": values,
                }
        if table:
            figures[label] = table
    scored = [label for label in figures if not label.startswith(THROUGHPUT_LABELS)]
    primary = primary_label(spec, scored) if scored else ""
    if primary:  # the compared figure first
        figures = {primary: figures[primary], **figures}
    improvement = {}
    if primary:
        table = figures[primary]
        sign = 1 if spec.mode == "max" else -1
        for x, y in combinations([n for n in names if n in table], 2):
            xs = [sign * v for v in table[x]["values"]]
            ys = [sign * v for v in table[y]["values"]]
            improvement[f"{x} > {y}"] = probability_of_improvement([xs], [ys])
    curves = _curves(spec, runs, folder / "curves.png")
    profile = _profile(figures.get(primary, {}), primary, folder / "profile.png")
    markdown = folder / "comparison.md"
    markdown.write_text(_markdown(spec, runs, figures, improvement, primary, curves, profile))
    write_json_atomic(
        folder / "comparison.json",
        {"primary": primary, "figures": figures, "probability_of_improvement": improvement},
    )
    write_json_atomic(folder / "marl_eval.json", marl_eval(spec, runs))
    return Comparison(folder, markdown, figures, improvement, primary)


def publish_comparison(storage: RunStorage, pull: bool = True) -> Comparison:
    """Builds the report of a compare folder (local or URI) and copies its files into it;
    `pull=False` when the local mirror is already up to date."""
    if pull:
        storage.pull()
    comparison = build_comparison(storage.local)
    storage.push(*(f for f in FILES if (storage.local / f).is_file()))
    return comparison


# -- curves and profiles ------------------------------------------------------------------


def _curve_grid(series: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray | None:
    """A grid every run covers: from the latest first point to the earliest last point."""
    lo = max(x[0] for x, _ in series)
    hi = min(x[-1] for x, _ in series)
    return np.linspace(lo, hi, GRID_POINTS) if hi > lo else None


def sample_efficiency(
    runs: list[Run], variant: str, x_column: str, y_column: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """[runs, points] of one variant's `y_column` interpolated onto a common grid of
    `x_column` (env steps or seconds); None when the runs share no stretch of it."""
    series = []
    for run in runs:
        df = run.progress
        if run.variant != variant or df is None or x_column not in df or y_column not in df:
            continue
        rows = df[[x_column, y_column]].dropna()
        if len(rows) >= 2:
            series.append((rows[x_column].to_numpy(float), rows[y_column].to_numpy(float)))
    if not series:
        return None
    grid = _curve_grid(series)
    if grid is None:
        return None
    return grid, np.stack([np.interp(grid, x, y) for x, y in series])


def _curves(spec: CompareSpec, runs: list[Run], path: Path) -> Path | None:
    # Self-play figures exist only at evaluation: its curves show the training return.
    y_column = metric_key(
        "episode_return_mean" if spec.metric in SELF_PLAY_FIGURES else spec.metric
    )
    panels = [(STEPS, "env steps"), ("time_total_s", "wall time (s)")]
    drawn = {}
    for x_column, _ in panels:
        for v in spec.variants:
            got = sample_efficiency(runs, v.name, x_column, y_column)
            if got is not None:
                drawn[(x_column, v.name)] = got
    if not drawn:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, (x_column, x_label) in zip(axes, panels, strict=True):
        for v in spec.variants:
            if (x_column, v.name) not in drawn:
                continue
            grid, matrix = drawn[(x_column, v.name)]
            band = curve_intervals(matrix)
            line = ax.plot(grid, band["value"], label=f"{v.name} (IQM, n={len(matrix)})")
            ax.fill_between(grid, band["low"], band["high"], alpha=0.2, color=line[0].get_color())
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_column.rsplit("/", 1)[-1].replace("_", " ") + " (training)")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(f"{spec.name}: IQM over seeds with 95 % bootstrap bands")
    return _save(fig, plt, path)


def _profile(table: dict[str, Any], label: str, path: Path) -> Path | None:
    if not table:
        return None
    every = np.concatenate([np.asarray(t["values"], float) for t in table.values()])
    lo, hi = float(every.min()), float(every.max())
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    taus = np.linspace(lo - pad, hi + pad, 80)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, t in table.items():
        profile = performance_profile([t["values"]], taus)
        line = ax.plot(taus, profile["fraction"], label=f"{name} (n={len(t['values'])})")
        ax.fill_between(
            taus, profile["low"], profile["high"], alpha=0.2, color=line[0].get_color(), step=None
        )
    ax.set_xlabel(f"{label} (tau)")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("performance profile, 95 % bootstrap bands")
    return _save(fig, plt, path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, plt, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


# -- marl-eval export ---------------------------------------------------------------------


def marl_eval(spec: CompareSpec, runs: list[Run]) -> dict[str, Any]:
    """The raw-data layout `marl-eval` (BenchMARL, Mava) reads:
    env -> task -> algorithm -> run_<seed> -> step_<i> {step_count, metric: [values]} and
    absolute_metrics {metric: [per-episode values]}. Step entries hold the training mean of
    each iteration (one value); absolute metrics the final checkpoint's greedy evaluation
    episodes."""
    out: dict[str, Any] = {}
    for run in runs:
        env = next(v for v in spec.variants if v.name == run.variant).experiment.env
        task_name = ",".join(f"{k}={v}" for k, v in sorted(env.config.items())) or "default"
        task = out.setdefault(env.name, {}).setdefault(task_name, {})
        entry: dict[str, Any] = {}
        df = run.progress
        if df is not None and STEPS in df:
            for i, row in enumerate(df.to_dict("records")):
                step: dict[str, Any] = {"step_count": int(row[STEPS])}
                for short, key in (
                    ("return", METRIC_KEYS["episode_return_mean"]),
                    ("success_rate", METRIC_KEYS["success_rate"]),
                ):
                    value = finite_or_none(row.get(key))
                    if value is not None:
                        step[short] = [value]
                entry[f"step_{i}"] = step
        greedy = (run.evaluation or {}).get("greedy") or {}
        absolute = {}
        if greedy.get("episode_returns"):
            absolute["return"] = greedy["episode_returns"]
        if greedy.get("episode_successes"):
            absolute["success_rate"] = greedy["episode_successes"]
        entry["absolute_metrics"] = absolute
        task.setdefault(run.variant, {})[f"run_{run.seed}"] = entry
    return out


# -- markdown -----------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.4g}"


def _with_ci(stat: dict[str, Any]) -> str:
    low, high = stat["ci"]
    return f"{_fmt(stat['value'])} [{_fmt(low)}, {_fmt(high)}]"


def _markdown(spec, runs, figures, improvement, primary, curves, profile) -> str:
    names = [v.name for v in spec.variants]
    lines = [
        f"# Comparison: {spec.name}",
        "",
        f"{len(names)} variants x {len(spec.seeds)} training seeds ({spec.seeds[0]}.."
        f"{spec.seeds[-1]}); {len(runs)} runs found. Each final checkpoint played "
        f"{spec.eval_episodes} evaluation episodes of seed {spec.eval_seed} (the same episodes "
        "for every run; no training seed reaches them).",
        "",
        "Intervals: 95 % stratified percentile bootstrap over seeds (scipy.stats.bootstrap, "
        "10,000 resamples). IQM: mean of the middle 50 % of runs.",
        "",
    ]
    searched_names = [v.name for v in spec.variants if searched(v.experiment)]
    if searched_names:
        lines += [
            f"Searched variants ({', '.join(searched_names)}): every seed ran the variant's "
            "whole Tune search (population, scheduler); its best trial by the final "
            f"{spec.metric} stands for the seed.",
            "",
        ]
    lines += [
        "## What differs between the variants",
        "",
    ]
    differences = spec.differences()
    if differences:
        lines += ["| key | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for key, values in differences.items():
            lines.append(f"| `{key}` | " + " | ".join(f"`{v}`" for v in values) + " |")
    else:
        lines.append("Nothing: the variants are the same experiment.")
    if primary and improvement:
        lines += [
            "",
            f"## Probability of improvement ({primary})",
            "",
            "P(a run of X scores better than a run of Y), ties half; 0.5 means no difference "
            "(P(Y > X) = 1 - P(X > Y)).",
            "",
            "| X > Y | probability [95 % CI] |",
            "|---|---|",
        ]
        lines += [f"| {pair} | {_with_ci(stat)} |" for pair, stat in improvement.items()]
    for label, table in figures.items():
        lines += [
            "",
            f"## {label}" + (" (compared)" if label == primary else ""),
            "",
            "| variant | n | mean [95 % CI] | median [95 % CI] | IQM [95 % CI] | per seed |",
            "|---|---|---|---|---|---|",
        ]
        for name, t in table.items():
            per_seed = ", ".join(_fmt(v) for v in t["values"])
            lines.append(
                f"| {name} | {len(t['values'])} | {_with_ci(t['mean'])} | "
                f"{_with_ci(t['median'])} | {_with_ci(t['iqm'])} | {per_seed} |"
            )
    if curves or profile:
        lines += ["", "## Figures", ""]
        if curves:
            lines.append(f"![sample efficiency]({curves.name})")
        if profile:
            lines.append(f"![performance profile]({profile.name})")
    lines += ["", "Raw data for marl-eval: `marl_eval.json`; all figures: `comparison.json`."]
    return "\n".join(lines) + "\n"
