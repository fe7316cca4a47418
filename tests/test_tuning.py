"""Tune orchestration: ASHA, PBT with our IMPALA, Optuna at a URI and its report (resume
after a killed driver: tests/cluster, against a real head)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from envs.schema import ConfigError
from marl_ray.cli import main
from marl_ray.config import build_experiment, load_experiment
from marl_ray.report import build_report
from marl_ray.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]
A3C_GRID = ROOT / "tune_configs" / "a3c_grid_world.yaml"
IMPALA_GRID = ROOT / "tune_configs" / "impala_grid_world.yaml"
SMALL_A3C = [
    "resources.num_env_runners=1",
    "resources.num_envs_per_env_runner=8",
    "resources.num_cpus_per_env_runner=0",
    "training.extra.updates_per_iteration=20",
    "stop.timesteps_total=null",
    "stop.time_total_s=null",
    "stop.metric={}",
    "checkpoint.frequency=1",
]


def _progress(run_dir: Path) -> dict[str, pd.DataFrame]:
    return {p.parent.name: pd.read_csv(p) for p in Path(run_dir).glob("*/progress.csv")}


def test_asha_stops_the_weak_trials_early(ray_session, tmp_path):
    exp = load_experiment(
        A3C_GRID,
        [
            *SMALL_A3C,
            "stop.training_iteration=6",
            f"storage_path={tmp_path}",
            "tune.scheduler=asha",
            "tune.asha={max_t: 6, grace_period: 2, reduction_factor: 2}",
            "training.extra.updates_per_iteration=30",
            "tune.max_concurrent_trials=1",
            # The strong trial runs first and records its rungs; the weak one is compared there.
            "tune.search_space={training.lr: {grid_search: [0.003, 0.000001]}}",
        ],
    )
    summary = run_experiment(exp, search=True, verbose=0)
    assert summary.trials == 2
    iterations = {}
    for params in Path(summary.run_dir).glob("*/params.json"):
        lr = json.loads(params.read_text())["search"]["training.lr"]
        iterations.setdefault(lr, []).append(len(pd.read_csv(params.parent / "progress.csv")))
    assert max(iterations[0.003]) == 6  # a strong trial runs its full budget
    assert max(iterations[0.000001]) < 6  # the weak one is stopped at a rung
    assert (Path(summary.run_dir) / "report.md").is_file()


def test_pbt_exploits_and_mutates_the_running_learner(ray_session, tmp_path):
    exp = load_experiment(
        IMPALA_GRID,
        [
            "resources.num_env_runners=1",
            "resources.num_envs_per_env_runner=16",
            "resources.num_cpus_per_env_runner=0",  # two trials side by side on 2 CPUs
            "training.extra.updates_per_iteration=5",
            "stop.training_iteration=5",  # exploits at iterations 2 and 4
            "stop.timesteps_total=null",
            "stop.time_total_s=null",
            "stop.metric={}",
            f"storage_path={tmp_path}",
            "tune.num_samples=1",
            "tune.scheduler=pbt",
            "tune.pbt={perturbation_interval: 2, quantile_fraction: 0.5, resample_probability: 1.0,"
            " synch: true, hyperparam_mutations: {training.lr: {loguniform: [0.0001, 0.01]}}}",
            # Synchronous: at each interval the trial that scores lower exploits the other, even
            # while both scores are still noise (asynchronously a donor may have no checkpoint).
            "tune.search_space={training.lr: {grid_search: [0.00001, 0.003]}}",
        ],
    )
    summary = run_experiment(exp, search=True, verbose=0)
    run_dir = Path(summary.run_dir)
    assert not list(run_dir.glob("*/error.txt")), "a trial failed (and was retried)"
    log = run_dir / "pbt_global.txt"
    assert log.is_file(), "PBT performed no exploit"
    exploits = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert exploits
    # Rows: [target tag, donor tag, target iteration, donor iteration, donor config, new config]
    target_tag = exploits[-1][0]
    new_lr = [e[5] for e in exploits if e[0] == target_tag][-1]["search"]["training.lr"]
    index = int(target_tag.split("_")[0])
    target = next(run_dir.glob(f"*_{index:05d}_*/progress.csv"))
    rows = pd.read_csv(target)
    # After its last exploit the trial's running learner reports the explored learning rate.
    assert rows["learners/lr"].iloc[-1] == pytest.approx(new_lr)
    assert rows["learners/lr"].nunique() > 1


def test_optuna_search_at_a_uri_then_its_report(ray_session, tmp_path, capsys, monkeypatch):
    """An Optuna search whose storage is a URI (through pyarrow, as s3:// or gs:// would be;
    file:// lets the test read what landed there), then the report built from that folder;
    a missing optuna is explained."""
    exp = load_experiment(
        A3C_GRID,
        [
            *SMALL_A3C,
            "stop.training_iteration=2",
            "training.extra.updates_per_iteration=5",
            f"storage_path=file://{tmp_path}",
            "tune.search_alg=optuna",
            "tune.num_samples=2",
            "tune.search_space={training.lr: {loguniform: [0.0001, 0.01]}}",
        ],
    )
    summary = run_experiment(exp, search=True, verbose=0)
    assert summary.trials == 2 and 1e-4 <= summary.best_config["training.lr"] <= 1e-2
    run_dir = tmp_path / summary.run_dir.rsplit("/", 1)[1]
    assert summary.run_dir == f"file://{run_dir}"
    assert summary.checkpoint.startswith(f"file://{run_dir}/")
    for name in ("experiment.yaml", "summary.json", "learning_curve.png", "report.md"):
        assert (run_dir / name).is_file(), name
    report = build_report(run_dir)
    assert len(report.rows) == 2 and report.rows[0].best >= report.rows[1].best
    text = report.markdown.read_text()
    assert "| trial | training.lr | best success_rate |" in text
    best = load_experiment(report.best_experiment)
    assert best.training.lr == report.rows[0].search["training.lr"]
    assert best.tune.search_space == {}
    assert report.plot.stat().st_size > 10_000
    assert main(["report", summary.run_dir]) == 0
    assert "best_experiment.yaml" in capsys.readouterr().out
    assert main(["evaluate", summary.checkpoint, "--episodes", "4"]) == 0

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ConfigError, match=r"pip install 'marl-ray\[optuna\]'"):
        run_experiment(exp, search=True, verbose=0)
    with pytest.raises(ConfigError, match="optuna cannot run grid_search"):
        build_experiment(
            {
                "stop": {"training_iteration": 1},
                "tune": {
                    "search_alg": "optuna",
                    "search_space": {"training.lr": {"grid_search": [1, 2]}},
                },
            }
        )


def test_unknown_storage_scheme_is_rejected():
    with pytest.raises(ConfigError, match="unknown URI scheme 'ftp'.*s3, gs"):
        load_experiment(A3C_GRID, ["storage_path=ftp://host/runs"])
