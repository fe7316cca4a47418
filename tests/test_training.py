"""Training through Tune on the session's local Ray: CLI smoke runs on tiny budgets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.rllib.trainables import TRAINABLES, to_algorithm_config

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "tune_configs" / "grid_world_ppo.yaml")
TINY = [
    "stop.training_iteration=2",
    "stop.timesteps_total=null",
    "stop.time_total_s=null",
    "stop.metric={}",
    "training.train_batch_size=400",
    "training.minibatch_size=100",
    "training.num_epochs=2",
    "resources.num_envs_per_env_runner=2",
]


def _last_json(capsys) -> dict:
    lines = capsys.readouterr().out.strip().splitlines()
    return json.loads(lines[-1])


def _sets(overrides):
    return [arg for o in overrides for arg in ("--set", o)]


@pytest.fixture
def trained(ray_session, tmp_path_factory):
    """`marl-ray train` arguments for a tiny PPO run of the demo file."""
    storage = tmp_path_factory.mktemp("results")
    argv = ["train", DEMO, *_sets([*TINY, f"storage_path={storage}"]), "--json"]
    return argv, storage


def test_train_then_evaluate_through_the_cli(trained, capsys, tmp_path):
    argv, storage = trained
    assert main(argv) == 0
    summary = _last_json(capsys)
    assert summary["algorithm"] == "PPO" and summary["env"] == "grid_world"
    assert summary["training_iterations"] == 2
    assert summary["timesteps"] >= 800
    assert summary["episode_return_mean"] is not None
    assert 0.0 <= summary["success_rate"] <= 1.0
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == storage
    assert (run_dir / "learning_curve.png").stat().st_size > 10_000
    assert json.loads((run_dir / "summary.json").read_text())["checkpoint"] == summary["checkpoint"]
    assert yaml.safe_load((run_dir / "experiment.yaml").read_text())["algorithm"] == "PPO"
    ckpt = Path(summary["checkpoint"])
    assert ckpt.is_dir()

    gif = tmp_path / "episode.gif"
    argv = ["evaluate", str(ckpt), "--episodes", "12", "--render", str(gif), "--json"]
    assert main(argv) == 0
    result = _last_json(capsys)
    assert result["episodes"] == 12
    assert 0.0 <= result["success_rate"] <= 1.0
    assert set(result["agent_returns"]) == {"agent_0", "agent_1"}
    assert gif.stat().st_size > 1000

    # An RLlib checkpoint (pickles) loads without --trust only while every file matches the
    # manifest its run signed: a copy elsewhere is fine, a swapped or added file is not.
    moved = tmp_path / "run" / "trial" / ckpt.name
    shutil.copytree(ckpt, moved)
    shutil.copy(ckpt.parent / "params.json", moved.parent / "params.json")
    assert main(["evaluate", str(moved), "--episodes", "2"]) == 0
    capsys.readouterr()
    victim = next(p for p in sorted(moved.rglob("*.pkl")))
    victim.write_bytes(victim.read_bytes() + b"\n")
    assert main(["evaluate", str(moved), "--episodes", "2"]) == 2
    err = capsys.readouterr().err
    assert "--trust" in err and "files differ" in err and victim.name in err
    assert main(["evaluate", str(moved), "--episodes", "2", "--trust"]) == 0
    capsys.readouterr()

    # The same at a URI: the copy fetched into the private mirror is checked too.
    remote = tmp_path / "remote_run" / "trial" / ckpt.name
    shutil.copytree(moved.parent, remote.parent)
    assert main(["evaluate", f"file://{remote}", "--episodes", "2"]) == 2
    assert "files differ" in capsys.readouterr().err
    shutil.copy(ckpt / victim.relative_to(moved), remote / victim.relative_to(moved))
    assert main(["evaluate", f"file://{remote}", "--episodes", "2"]) == 0
    (remote / "planted.pkl").write_bytes(b"not from the run")
    assert main(["evaluate", f"file://{remote}", "--episodes", "2"]) == 2
    assert "planted.pkl" in capsys.readouterr().err


def test_tune_runs_the_search_space_with_independent_policies(ray_session, tmp_path, capsys):
    data = yaml.safe_load(Path(DEMO).read_text())
    data["tune"]["search_space"] = {
        "multi_agent.policies": {"grid_search": ["shared", "independent"]},
        "training.lr": {"loguniform": [1e-4, 1e-3]},
    }
    data["resources"]["num_env_runners"] = 0
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(data))
    sets = _sets([*TINY, "stop.training_iteration=1", f"storage_path={tmp_path / 'out'}"])
    assert main(["tune", str(path), *sets, "--json"]) == 0
    summary = _last_json(capsys)
    assert summary["trials"] == 2
    assert summary["best_config"]["multi_agent.policies"] in ("shared", "independent")
    assert 1e-4 <= summary["best_config"]["training.lr"] <= 1e-3
    trial_params = [
        json.loads(p.read_text())["search"] for p in Path(summary["run_dir"]).glob("*/params.json")
    ]
    assert sorted(p["multi_agent.policies"] for p in trial_params) == ["independent", "shared"]


@pytest.mark.parametrize("algorithm", ["APPO", "IMPALA", "DQN", "SAC"])
def test_other_algorithms_train_one_iteration(ray_session, tmp_path, algorithm):
    from marl_ray.runner import run_experiment

    # Stop at the first iteration that has sampled anything: APPO and IMPALA sample
    # asynchronously, so on a loaded machine their first iteration can return before any
    # env runner has reported (0 env steps).
    overrides = [
        f"algorithm={algorithm}",
        "stop.training_iteration=20",
        "stop.timesteps_total=1",
        "stop.time_total_s=null",
        "stop.metric={}",
        "training={}",
        "training.train_batch_size=200",
        "resources.num_env_runners=0",
        f"storage_path={tmp_path}",
    ]
    exp = load_experiment(DEMO, overrides)
    summary = run_experiment(exp, verbose=0)
    assert 1 <= summary.training_iterations < 20 and summary.timesteps > 0
    assert summary.checkpoint and Path(summary.checkpoint).is_dir()


def test_gpu_request_is_made_and_learner_falls_back_to_cpu():
    exp = load_experiment(DEMO, ["resources.num_gpus=1"])
    space = {"experiment": exp.to_dict(), "learner_gpus": 1, "search": {}}
    request = TRAINABLES["PPO"].default_resource_request(space)
    assert sum(b.get("GPU", 0) for b in request.bundles) == 1
    with pytest.warns(RuntimeWarning, match="torch sees no CUDA device"):
        config = to_algorithm_config(space, in_trial=True)
    assert config.num_gpus_per_learner == 0


def test_bad_input_exits_2_with_a_clear_message(ray_session, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, not even a stray results folder
    assert main(["train", DEMO, "--set", "training.lr=abc"]) == 2
    assert "training.lr='abc' has the wrong type" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is not a marl-ray checkpoint" in capsys.readouterr().err
    assert main(["train", DEMO, "--set", "algorithm=SAC"]) == 2
    assert "training key 'entropy_coeff' is not an option of SAC" in capsys.readouterr().err
    sac = ["--set", "algorithm=SAC", "--set", "training={}", "--set", "training.lr=0.1"]
    assert main(["train", DEMO, *sac]) == 2
    assert "RLlib rejects this SAC setup" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()
