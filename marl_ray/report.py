"""`marl-ray report RUN_DIR`: which configuration won, and how every trial learned.

Reads only the run folder (experiment.yaml, each trial's params.json and progress.csv), so it
works on finished, interrupted and resumed runs alike. Writes `report.md` (a table of trials,
best first), `best_experiment.yaml` (the winning configuration as a ready experiment file)
and `trials.png` (every trial's curve of the tuned metric, the best drawn bold).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from envs.schema import ConfigError
from marl_ray.config import METRIC_KEYS, build_experiment, metric_key
from marl_ray.results import finite_or_none, plot_learning_curves, read_progress
from marl_ray.storage import RunStorage

STEPS = METRIC_KEYS["timesteps"]


@dataclass(frozen=True)
class TrialRow:
    name: str
    search: dict
    best: float | None
    env_steps: int | None
    iterations: int
    time_s: float | None


@dataclass(frozen=True)
class Report:
    markdown: Path
    best_experiment: Path | None
    plot: Path | None
    rows: list[TrialRow]


def build_report(run_dir: str | Path) -> Report:
    run_dir = Path(run_dir).expanduser().resolve()
    spec = run_dir / "experiment.yaml"
    if not spec.is_file():
        raise ConfigError(f"{run_dir} is not a marl-ray run folder (no experiment.yaml)")
    raw = yaml.safe_load(spec.read_text())
    exp = build_experiment(raw)
    metric, sign = metric_key(exp.tune.metric), (1 if exp.tune.mode == "max" else -1)
    rows, curves = [], {}
    for params in sorted(run_dir.glob("*/params.json")):
        trial_dir = params.parent
        search = json.loads(params.read_text()).get("search") or {}
        progress = read_progress(trial_dir)
        if progress is not None:
            curves[_short(trial_dir.name)] = progress
        col = progress[metric] if progress is not None and metric in progress else None
        best = (
            None
            if col is None or col.dropna().empty
            else float(col.max() if sign > 0 else col.min())
        )
        last = progress.iloc[-1] if progress is not None and len(progress) else None
        rows.append(
            TrialRow(
                _short(trial_dir.name),
                search,
                best,
                _int(last.get(STEPS)) if last is not None else None,
                len(progress) if progress is not None else 0,
                finite_or_none(last.get("time_total_s")) if last is not None else None,
            )
        )
    if not rows:
        raise ConfigError(f"{run_dir} holds no trials yet")
    # Best metric first; among equals, the trial that needed less time.
    rows.sort(key=lambda r: (-sign * r.best if r.best is not None else float("inf"), r.time_s or 0))
    best = rows[0] if rows[0].best is not None else None
    markdown = run_dir / "report.md"
    markdown.write_text(_markdown(exp, rows, best))
    best_file = None
    if best is not None:
        best_file = run_dir / "best_experiment.yaml"
        winner = build_experiment(raw, values=best.search).to_dict()
        winner["tune"]["search_space"] = {}
        winner["tune"]["scheduler"] = "none"
        header = (
            f"# Best trial of {run_dir.name}: {best.name} ({exp.tune.metric} {best.best:.4g})\n"
        )
        best_file.write_text(header + yaml.safe_dump(winner, sort_keys=False))
    plot = None
    if curves:
        plot = plot_learning_curves(
            curves,
            run_dir / "trials.png",
            f"{exp.name}: {len(rows)} trials",
            best.name if best else None,
            columns={exp.tune.metric: metric},
        )
    return Report(markdown, best_file, plot, rows)


def _short(trial_dir_name: str) -> str:
    """`ExperimentPPO_6b0a3_00000_0_lr=..._2026-...` -> `ExperimentPPO_6b0a3_00000`."""
    return "_".join(trial_dir_name.split("_")[:3])


def _int(value) -> int | None:
    v = finite_or_none(value)
    return None if v is None else int(v)


def _markdown(exp, rows: list[TrialRow], best: TrialRow | None) -> str:
    keys = sorted({k for r in rows for k in r.search})
    head = ["trial", *keys, f"best {exp.tune.metric}", "env steps", "iterations", "time (s)"]
    lines = [
        f"# {exp.name}: {exp.algorithm} on {exp.env.name}",
        "",
        f"{len(rows)} trials, ranked by the best {exp.tune.metric} reached ({exp.tune.mode}).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        cells = [
            r.name,
            *[_cell(r.search.get(k)) for k in keys],
            _cell(r.best),
            _cell(r.env_steps),
            str(r.iterations),
            _cell(r.time_s),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if best is not None:
        lines += [
            "",
            f"Best: `{best.name}` with "
            + ", ".join(f"{k}={_cell(v)}" for k, v in best.search.items())
            + "; written to best_experiment.yaml.",
        ]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def publish_report(storage: RunStorage) -> Report:
    """Builds the report of a run folder (local or URI) and copies its files into it."""
    storage.pull()
    report = build_report(storage.local)
    storage.push(
        *(
            p.relative_to(storage.local).as_posix()
            for p in (report.markdown, report.best_experiment, report.plot)
            if p is not None
        )
    )
    return report
