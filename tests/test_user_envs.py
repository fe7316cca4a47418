"""Bring your own env: import paths, `register_env`, entry points, SuperSuit wrappers,
`check-env`, and training on user envs that live outside this repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import envs
from envs import plugins
from envs.check import check_env
from envs.schema import ConfigError
from marl_ray.cli import main
from marl_ray.config import build_experiment

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "PPO": ROOT / "tune_configs" / "grid_world_ppo.yaml",
    "MARL_PPO": ROOT / "tune_configs" / "grid_world_marl_ppo.yaml",
}


@pytest.fixture
def project(user_project, monkeypatch):
    monkeypatch.syspath_prepend(str(user_project))
    return user_project


@pytest.mark.parametrize(
    ("name", "api"),
    [
        ("my_envs:Rendezvous", "PettingZoo ParallelEnv"),
        ("my_envs:RaceToTen", "PettingZoo AECEnv (turn-based)"),
        ("my_envs:TwoArms", "Gymnasium Env with 2 agents (Tuple spaces)"),
        ("my_envs:make_rllib_env", "RLlib MultiAgentEnv"),
        ("mpe2.simple_adversary_v3:env", "PettingZoo ParallelEnv"),  # a parallelizable AEC
    ],
)
def test_every_accepted_api_is_detected_and_passes_the_checks(project, name, api):
    results, facts = check_env(name, episodes=2, speed_seconds=0.1)
    assert facts["api"] == api
    failed = [(r.name, r.detail) for r in results if not r.passed]
    assert not failed
    assert facts["steps_per_second"] > 0


@pytest.mark.parametrize(
    ("name", "check", "message"),
    [
        ("my_envs:OutOfSpace", "observations in declared spaces", "outside its declared space"),
        ("my_envs:UnseededReset", "seeded determinism", "differs between two runs"),
        ("my_envs:GhostAgent", "observations in declared spaces", "after their episode ended"),
    ],
)
def test_check_env_names_the_classic_bugs(project, capsys, name, check, message):
    results, _ = check_env(name, episodes=3, speed_seconds=0.1)
    failed = {r.name.split(",")[0]: r.detail for r in results if not r.passed}
    assert check in failed and message in failed[check]
    assert main(["check-env", name, "--json"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {check}" in out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["passed"] is False and report["env"] == name


def test_bad_names_say_what_was_found_and_what_is_accepted(project, monkeypatch):
    with pytest.raises(ConfigError, match="cannot import 'no_such_pkg.envs'.*working-dir"):
        envs.make_batched("no_such_pkg.envs:Thing")
    with pytest.raises(ConfigError, match="has no attribute 'Nope'"):
        envs.make_batched("my_envs:Nope")
    with pytest.raises(ConfigError, match="names int 3, which is not a class or factory"):
        envs.make_batched("my_envs:NOT_AN_ENV")
    with pytest.raises(ConfigError, match="is not an env marl_ray can drive.*ParallelEnv"):
        envs.make_batched("collections:OrderedDict")
    with pytest.raises(ConfigError, match=r"unknown env.config key\(s\) speed.*size, max_steps"):
        envs.make_batched("my_envs:Rendezvous", 1, {"speed": 2})
    monkeypatch.setitem(plugins.EXTRAS, "no_such_suite", "envs")
    with pytest.raises(ConfigError, match=r"pip install 'marl-ray\[envs\]'"):
        envs.make_batched("no_such_suite:Foraging-8x8-2p-2f-coop-v3")
    with pytest.raises(ConfigError, match="unknown SuperSuit wrapper 'resize_v9'; allowed: "):
        build_experiment({"env": {"name": "my_envs:Rendezvous", "wrappers": ["resize_v9"]}})
    with pytest.raises(ConfigError, match=r"resize_v1: unknown argument\(s\) x; allowed: x_size"):
        build_experiment(
            {"env": {"name": "my_envs:Rendezvous", "wrappers": [{"resize_v1": {"x": 3}}]}}
        )
    with pytest.raises(ConfigError, match="env.wrappers apply to user envs"):
        build_experiment({"env": {"name": "grid_world", "wrappers": ["flatten_v0"]}})


def test_agents_with_different_observation_sizes_share_padded_rows(project):
    core = envs.make_batched("my_envs:Rendezvous", 3, {"size": 4})
    obs, _ = core.reset(seed=0)
    assert obs.shape == (3, 2, 3)  # scout sees 3 numbers, the runner 2 (padded)
    assert core.observation_view(obs[:, 0], 0).shape == (3, 3)
    assert core.observation_view(obs[:, 1], 1).shape == (3, 2)
    assert (obs[:, 1, 2] == 0).all()
    # Without an env state(), the global state is both agents' observations, unpadded.
    assert core.state().shape == (3, 5) and core.state_space.shape == (5,)
    np.testing.assert_array_equal(core.state()[:, 3:], obs[:, 1, :2])
    rllib = envs.make_rllib("my_envs:Rendezvous", {"size": 4})
    first, _ = rllib.reset(seed=0)
    assert first["scout"].shape == (3,) and first["runner"].shape == (2,)


def test_turn_based_agents_wait_while_the_other_moves(project):
    core = envs.make_batched("my_envs:RaceToTen", 1, {"goal": 3})
    obs, _ = core.reset(seed=0)
    first, second = (core.observation_view(obs[:, i], i)["action_mask"][0] for i in (0, 1))
    assert first.tolist() == [1, 1, 0] and second.tolist() == [0, 0, 1]  # moves | wait
    out = core.step(np.array([[1, 2]]))  # first adds 2, second waits
    masks = [core.observation_view(out.observations[:, i], i)["action_mask"][0] for i in (0, 1)]
    assert masks[0].tolist() == [0, 0, 1] and masks[1].tolist() == [1, 0, 0]  # only +1 left
    out = core.step(np.array([[2, 0]]))  # second reaches 3 and wins
    assert out.done[0] and out.rewards[0].tolist() == [-1.0, 1.0]
    with pytest.raises(envs.EnvActionError, match="chose 'wait'.*on its turn"):
        core.step(np.array([[2, 2]]))


def test_register_env_entry_points_and_wrappers(project, monkeypatch):
    from my_envs import Rendezvous

    monkeypatch.setattr(plugins, "_REGISTERED", {})
    envs.register_env("rendezvous", Rendezvous)
    assert "rendezvous" in plugins.user_names()
    assert envs.make_batched("rendezvous", 2).possible_agents == ("scout", "runner")
    with pytest.raises(ConfigError, match="without ':'"):
        envs.register_env("a:b", Rendezvous)
    # A pip-installed package declares its envs in the `marl_ray.envs` entry-point group.
    dist = project / "user_envs_pkg-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: user-envs-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[marl_ray.envs]\ntwo_arms = my_envs:TwoArms\n")
    assert "two_arms" in plugins.user_names()
    assert envs.make_batched("two_arms", 1).possible_agents == ("agent_0", "agent_1")
    assert main(["envs"]) == 0
    # Wrappers apply in order to each copy: rewards clipped to [0, 0.5].
    clip = [{"clip_reward_v0": {"lower_bound": 0, "upper_bound": 0.5}}]
    plain, clipped = (
        envs.make_batched("my_envs:Rendezvous", 4, config) for config in ({}, {"wrappers": clip})
    )
    rng = np.random.default_rng(0)
    for core in (plain, clipped):
        core.reset(seed=1)
    for _ in range(30):
        actions = plain.sample_actions(rng)
        np.testing.assert_array_equal(
            clipped.step(actions).rewards, np.clip(plain.step(actions).rewards, 0, 0.5)
        )


TINY = [
    "stop.training_iteration=1",
    "stop.timesteps_total=null",
    "stop.time_total_s=null",
    "stop.metric={}",
    "training.train_batch_size=256",
    "training.minibatch_size=128",
    "training.num_epochs=1",
    "resources.num_envs_per_env_runner=4",
]
ALGORITHM_TINY = {
    "PPO": ["resources.num_env_runners=0"],
    "MARL_PPO": ["resources.num_env_runners=1", "training.extra.updates_per_iteration=1"],
}


@pytest.mark.parametrize(
    ("env", "algorithm", "sets"),
    [
        ("my_envs:Rendezvous", "PPO", ["multi_agent.policies=independent"]),
        ("my_envs:Rendezvous", "MARL_PPO", ["multi_agent.policies=by_group"]),
        ("my_envs:RaceToTen", "PPO", ["model.module=action_mask"]),
        ("my_envs:RaceToTen", "MARL_PPO", []),
    ],
    ids=["parallel-PPO", "parallel-MARL_PPO", "turn_based-PPO", "turn_based-MARL_PPO"],
)
def test_user_envs_train_and_evaluate(ray_session, project, tmp_path, capsys, env, algorithm, sets):
    """A user env from a folder outside the repository trains one iteration with RLlib's PPO
    and with ours (on Ray workers that import it), and its checkpoint evaluates."""
    sets = [
        f"env.name={env}",
        "env.config={}",
        *TINY,
        *ALGORITHM_TINY[algorithm],
        *sets,
        f"storage_path={tmp_path}",
    ]
    argv = ["train", str(CONFIGS[algorithm]), *[a for s in sets for a in ("--set", s)]]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["env"] == env and summary["training_iterations"] == 1
    assert main(["evaluate", summary["checkpoint"], "--episodes", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 4 and np.isfinite(result["episode_return_mean"])


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        (
            "grid_world_ppo.yaml",
            "my_envs:RaceToTen",
            "carry action masks.*model.module: action_mask",
        ),
        ("grid_world_ppo.yaml", "my_envs:Rendezvous", "runner differs from scout; use multi_agent"),
        ("es_cartpole.yaml", "my_envs:Rendezvous", "runner differs from scout; use multi_agent"),
        ("alphazero_tictactoe.yaml", "my_envs:RaceToTen", "is not a board game; ALPHAZERO plays"),
    ],
    ids=["masks-need-the-mask-module", "shared-needs-one-space", "es-too", "alphazero-board-games"],
)
def test_what_an_algorithm_cannot_train_is_refused_before_ray_starts(
    project, capsys, monkeypatch, config, env, message
):
    import ray

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray started"))
    argv = ["train", str(ROOT / "tune_configs" / config), "--set", f"env.name={env}"]
    assert main([*argv, "--set", "env.config={}"]) == 2
    assert re.search(message, capsys.readouterr().err)
