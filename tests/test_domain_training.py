"""The domain envs train from their experiment files through the CLI (a policy per agent
type on the smart grid), and `evaluate --render` draws their episode charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.rllib.algorithm_config import build_algorithm_config

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "stop.training_iteration=1",
    "stop.timesteps_total=null",
    "stop.time_total_s=null",
    "training.train_batch_size=480",
    "training.minibatch_size=240",
    "training.num_epochs=1",
    "resources.num_envs_per_env_runner=2",
    "resources.num_env_runners=0",  # sample in the trial actor: one process fewer per test
]


def _sets(items):
    return [a for item in items for a in ("--set", item)]


def test_by_group_gives_one_policy_per_agent_type():
    exp = load_experiment(ROOT / "tune_configs" / "smart_grid_ppo.yaml")
    config = build_algorithm_config(exp)
    assert set(config.policies) == {"thermal", "renewable", "consumer", "storage"}
    mapping = config.policy_mapping_fn
    assert [mapping(a, None) for a in ("consumer_0", "consumer_2", "storage_0")] == [
        "consumer",
        "consumer",
        "storage",
    ]


@pytest.mark.parametrize(
    "config_file,key",
    [("smart_grid_ppo.yaml", "welfare"), ("resource_allocation_ppo.yaml", "utilitarian")],
)
def test_train_evaluate_and_chart(ray_session, tmp_path, capsys, config_file, key):
    argv = ["train", str(ROOT / "tune_configs" / config_file)]
    argv += _sets([*TINY, f"storage_path={tmp_path}"]) + ["--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["training_iterations"] == 1 and summary["checkpoint"]
    chart = tmp_path / "episode.png"
    argv = ["evaluate", summary["checkpoint"], "--episodes", "4", "--render", str(chart), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 4 and key in result["episode_infos"]
    if config_file.startswith("smart_grid"):  # by_group: one return per agent type
        assert set(result["policy_returns"]) == {"thermal", "renewable", "consumer", "storage"}
        consumers = sum(v for a, v in result["agent_returns"].items() if a.startswith("consumer"))
        assert result["policy_returns"]["consumer"] == pytest.approx(consumers)
    assert result["render"] == str(chart) and chart.stat().st_size > 10_000


def test_intersection_agents_join_and_leave_through_a_ppo_iteration(ray_session, tmp_path, capsys):
    """PPO trains on an intersection whose vehicles enter and exit mid-episode, and
    `evaluate --render` writes the episode as a GIF."""
    sets = [
        *TINY,
        "env.config.arrival_rate=0.3",
        "env.config.max_seconds=20",
        f"storage_path={tmp_path}",
    ]
    argv = ["train", str(ROOT / "tune_configs" / "vehicles_ppo.yaml"), *_sets(sets), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["env"] == "vehicles" and summary["training_iterations"] == 1
    result_file = next(tmp_path.glob("vehicles_ppo-*/*/result.json"))
    sampled = json.loads(result_file.read_text().splitlines()[0])["env_runners"]
    agents = set(sampled["agent_episode_returns_mean"])
    assert len(agents) > 4 and "vehicle_10" in agents  # 4 start; the rest joined mid-episode
    gif = tmp_path / "intersection.gif"
    argv = ["evaluate", summary["checkpoint"], "--episodes", "2", "--render", str(gif), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 2 and "throughput_per_min" in result["episode_infos"]
    assert gif.stat().st_size > 10_000
