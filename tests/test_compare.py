"""`marl-ray compare`: the spec's checks, the report on a folder of known runs (no Ray), and
one small comparison end to end (train, evaluate, resume, report)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY_MARL_PPO

from envs.schema import ConfigError
from marl_ray.cli import main
from marl_ray.compare.report import build_comparison, load_runs, sample_efficiency
from marl_ray.compare.run import EVALUATION_FILE, trial_folders
from marl_ray.compare.spec import CompareSpec, build_spec, seeded
from marl_ray.stats import aggregate_interval

COMPARE_FILE = "tune_configs/grid_world_mappo_vs_ippo.yaml"


def _write(tmp_path: Path, name: str, data: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_variants_come_from_the_compare_block_or_one_file_each(tmp_path):
    spec = build_spec([COMPARE_FILE], ["stop.timesteps_total=1000"], seeds=3, eval_episodes=7)
    assert [v.name for v in spec.variants] == ["mappo", "ippo"]
    assert spec.seeds == [0, 1, 2] and spec.eval_episodes == 7 and spec.metric == "success_rate"
    assert all(v.experiment.stop.timesteps_total == 1000 for v in spec.variants)
    assert set(spec.differences()) == {"model.module", "model.options"}
    a = _write(tmp_path, "a.yaml", {"name": "a", "algorithm": "MARL_PPO", "seed": 10})
    b = _write(tmp_path, "b.yaml", {"name": "b", "algorithm": "A3C"})
    spec = build_spec([a, b], [], seeds=None, eval_episodes=None)
    assert [v.name for v in spec.variants] == ["a", "b"] and spec.seeds == [10, 11, 12, 13, 14]
    assert spec.differences()["algorithm"] == ["MARL_PPO", "A3C"]
    again = CompareSpec.from_dict(yaml.safe_load(yaml.safe_dump(spec.to_dict())))
    assert again == spec


@pytest.mark.parametrize(
    "data, match",
    [
        ({"compare": {"variants": {"only": {}}}}, "two or more variants"),
        ({"compare": {"variants": {"a": {"model.modul": "mlp"}, "b": {}}}}, "'modul' is not"),
        ({"compare": {"variants": {"a": {"seed": 3}, "b": {}}}}, "set by compare itself"),
        ({"compare": {"variants": {"a b": {}, "b": {}}}}, "letters, digits"),
        ({"compare": {"seeds": 0}}, "compare.seeds must be >= 1"),
        ({"compare": {"metric": "loss"}}, "not an evaluation figure; allowed: episode_return"),
        ({"compare": {"eval_seed": 5, "variants": {"a": {}, "b": {}}}}, "clear of training"),
        ({"seed": 998, "compare": {"variants": {"a": {}, "b": {}}}}, "must stay <= 999"),
        (
            {
                "tune": {"search_space": {"seed": {"choice": [1, 2]}}},
                "compare": {"variants": {"a": {}, "b": {}}},
            },
            "search_space.seed is set by compare itself",
        ),
        (
            {
                "algorithm": "ALPHAZERO",
                "env": {"name": "tictactoe"},
                "compare": {"variants": {"a": {}, "b": {}}},
            },
            "ALPHAZERO is compared by match play",
        ),
    ],
)
def test_bad_comparisons_are_refused_before_anything_runs(tmp_path, data, match):
    with pytest.raises(ConfigError, match=match):
        build_spec([_write(tmp_path, "x.yaml", data)], [], seeds=None, eval_episodes=None)


def test_same_named_files_and_blocks_beside_files_are_refused(tmp_path):
    a = _write(tmp_path, "a.yaml", {"name": "same"})
    b = _write(tmp_path, "b.yaml", {"name": "same"})
    assert [v.name for v in build_spec([a, b], [], 1, 1).variants] == ["a", "b"]  # file stems
    named = build_spec([f"left={a}", f"right={b}"], [], 1, 1)
    assert [v.name for v in named.variants] == ["left", "right"]
    with pytest.raises(ConfigError, match="variant names must differ"):
        build_spec([f"x={a}", f"x={b}"], [], 1, 1)
    c = _write(tmp_path, "c.yaml", {"compare": {"variants": {"x": {}, "y": {}}}})
    with pytest.raises(ConfigError, match="give one file with compare.variants"):
        build_spec([a, c], [], 1, 1)


def _fake_comparison(folder: Path) -> dict[str, list[float]]:
    """A compare folder with known runs: `good` learns faster and evaluates higher."""
    spec = build_spec([COMPARE_FILE], [], seeds=4, eval_episodes=5)
    spec.write(folder)
    rng = np.random.default_rng(0)
    scores = {"mappo": [0.9, 0.95, 0.85, 1.0], "ippo": [0.2, 0.4, 0.3, 0.1]}
    evaluations: dict = {}
    for v in spec.variants:
        for seed, score in zip(spec.seeds, scores[v.name], strict=True):
            trial = folder / v.name / f"PPOTrainable_x_0000{seed}"
            (trial / "checkpoint_000003").mkdir(parents=True)
            (trial / "params.json").write_text(json.dumps({"search": {"seed": seed}}))
            steps = np.arange(1, 11) * 3200 + seed * 100  # grids differ slightly per seed
            rate = np.clip(score * steps / steps[-1] + rng.normal(0, 0.01, 10), 0, 1)
            rate[0] = np.nan  # no episode finished in the first iteration
            pd.DataFrame(
                {
                    "num_env_steps_sampled_lifetime": steps,
                    "time_total_s": steps / 1000.0,
                    "env_runners/success_rate": rate,
                    "env_runners/episode_return_mean": rate * 3,
                }
            ).to_csv(trial / "progress.csv", index=False)
            episodes = [float(i < round(score * 5)) for i in range(5)]
            evaluations.setdefault(v.name, {})[str(seed)] = {
                "checkpoint": f"{v.name}/{trial.name}/checkpoint_000003",
                "greedy": {
                    "success_rate": score,
                    "episode_return_mean": 3 * score,
                    "episode_returns": [3 * e for e in episodes],
                    "episode_successes": episodes,
                },
                "sampled": {"success_rate": score / 2, "episode_return_mean": 1.5 * score},
            }
    (folder / EVALUATION_FILE).write_text(json.dumps(evaluations))
    return scores


def test_report_of_known_runs(tmp_path):
    scores = _fake_comparison(tmp_path)
    comparison = build_comparison(tmp_path)
    primary = "evaluation success_rate (greedy)"
    assert comparison.primary == primary and next(iter(comparison.figures)) == primary
    for name, values in scores.items():
        got = comparison.figures[primary][name]
        assert got["values"] == values
        assert got["iqm"] == aggregate_interval([values], "iqm")
    assert comparison.improvement["mappo > ippo"] == {"value": 1.0, "ci": [1.0, 1.0]}
    text = comparison.markdown.read_text()
    assert "| mappo > ippo | 1 [1, 1] |" in text and "`model.module`" in text
    for name in ("curves.png", "profile.png", "comparison.json"):
        assert (tmp_path / name).stat().st_size > 0
    # Curves: every seed on one grid inside every run's own range of env steps.
    grid, matrix = sample_efficiency(
        load_runs(CompareSpec.read(tmp_path), tmp_path),
        "mappo",
        "num_env_steps_sampled_lifetime",
        "env_runners/success_rate",
    )
    assert matrix.shape == (4, 50) and grid[0] == 2 * 3200 + 300 and grid[-1] == 32000
    # marl-eval's raw layout: env -> task -> algorithm -> run -> steps and absolute metrics.
    data = json.loads((tmp_path / "marl_eval.json").read_text())
    (task,) = data["grid_world"].values()
    run = task["ippo"]["run_2"]
    assert run["step_9"] == {
        "step_count": 32200,
        "return": [pytest.approx(0.9, abs=0.1)],
        "success_rate": [pytest.approx(0.3, abs=0.04)],
    }
    assert "return" not in run["step_0"]  # a NaN is left out, not written as a number
    assert run["absolute_metrics"]["success_rate"] == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_compare_trains_evaluates_resumes_and_reports(ray_session, tmp_path, capsys):
    sets = [
        *TINY_MARL_PPO,
        "resources.num_cpus_per_env_runner=0",  # two seeds' trials side by side on 2 CPUs
        "stop.timesteps_total=512",
        "logging.tensorboard=false",
        # A URI, as on a cluster: runs written through pyarrow, read through the mirror.
        f"storage_path=file://{tmp_path}",
    ]
    args = ["compare", COMPARE_FILE, "--seeds", "2", "--episodes", "4", "--json"]
    assert main([*args, *[a for s in sets for a in ("--set", s)]]) == 0
    out = capsys.readouterr().out
    report = json.loads(out.strip().splitlines()[-1])
    location = report["compare_dir"]
    assert location.startswith(f"file://{tmp_path}/")
    folder = Path(location.removeprefix("file://"))
    assert out.count("marl-ray compare: evaluating") == 4
    figures = report["figures"]
    for name in ("mappo", "ippo"):
        assert len(figures["evaluation success_rate (greedy)"][name]["values"]) == 2
        assert figures["env steps"][name]["values"] == [512.0, 512.0]
        assert all(v > 0 for v in figures["learner updates/s"][name]["values"])
        assert len(figures["evaluation success_rate (sampled)"][name]["values"]) == 2
    evaluation = json.loads((folder / EVALUATION_FILE).read_text())
    first = evaluation["mappo"]["0"]["greedy"]
    assert len(first["episode_returns"]) == 4
    assert {"0", "1"} == set(evaluation["ippo"])
    assert not list(folder.glob("*/*/events.out.tfevents*"))  # logging.tensorboard=false
    # Resuming a finished comparison trains and evaluates nothing again.
    assert main(["compare", "--resume", location]) == 0
    assert "evaluating" not in capsys.readouterr().out
    assert json.loads((folder / EVALUATION_FILE).read_text()) == evaluation
    (folder / "comparison.md").unlink()
    assert main(["report", location]) == 0
    assert "# Comparison: grid_world_mappo_vs_ippo" in capsys.readouterr().out
    assert (folder / "comparison.md").is_file()  # pushed back to the run folder


def test_a_searched_variant_runs_its_search_per_seed_and_its_best_trial_stands_for_it(tmp_path):
    data = {
        "algorithm": "MARL_IMPALA",
        "tune": {"metric": "success_rate", "num_samples": 2},
        "compare": {
            "variants": {
                "pbt": {
                    "tune.scheduler": "pbt",
                    "tune.pbt.hyperparam_mutations": {"training.lr": {"uniform": [0.1, 0.2]}},
                },
                "plain": {"tune.search_space": {"training.lr": {"uniform": [0.1, 0.2]}}},
            }
        },
    }
    spec = build_spec([_write(tmp_path, "p.yaml", data)], [], seeds=2, eval_episodes=1)
    pbt = spec.variants[0]
    one = seeded(pbt.experiment, [1])
    assert one.seed == 1 and one.tune.scheduler == "pbt" and "seed" not in one.tune.search_space
    for seed, finals in ((0, [0.2, 0.9]), (1, [0.7, 0.1])):
        for i, final in enumerate(finals):
            trial = tmp_path / "pbt" / f"seed_{seed}" / f"ImpalaTrainable_{i}"
            trial.mkdir(parents=True)
            pd.DataFrame({"env_runners/success_rate": [0.0, 1.0, final]}).to_csv(
                trial / "progress.csv", index=False
            )
    best = trial_folders(spec, pbt, tmp_path)
    assert {s: p.name for s, p in best.items()} == {0: "ImpalaTrainable_1", 1: "ImpalaTrainable_0"}
