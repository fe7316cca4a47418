"""MADDPG: sampler exploration, absent agents, the update, checkpoints and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from marl_ray.algorithms.core.replay import SequenceReplay
from marl_ray.algorithms.maddpg.config import MADDPGConfig
from marl_ray.algorithms.maddpg.learner import MADDPGLearner, MADDPGSampler
from marl_ray.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPREAD = MADDPGConfig(
    env="pz/simple_spread",
    env_config={"continuous_actions": True, "max_cycles": 10},
    num_envs_per_sampler=4,
    batch_size=8,
)


def test_box_exploration_stays_in_bounds_and_greedy_is_deterministic():
    sampler = MADDPGSampler(SPREAD, 4, seed=0)
    active = sampler.env.active()
    explored = sampler.act(sampler.obs, active)
    assert explored.shape == (4, 3, 5) and explored.min() >= 0.0 and explored.max() <= 1.0
    greedy = sampler.act(sampler.obs, active, explore=False)
    assert np.array_equal(greedy, sampler.act(sampler.obs, active, explore=False))
    assert not np.array_equal(greedy, explored)


@pytest.mark.parametrize(
    "config",
    [
        SPREAD,
        replace(SPREAD, env_config={"max_cycles": 10}, policies="shared"),  # Discrete, Gumbel
        replace(SPREAD, env="smart_grid", env_config={}, policies="by_group"),
    ],
    ids=["box-independent", "discrete-shared", "smart-grid-by-group"],
)
def test_updates_move_actors_and_critics(config):
    learner, sampler = MADDPGLearner(config), MADDPGSampler(config, 4, seed=1)
    replay = SequenceReplay(1000, config.sequence_length)
    replay.add(sampler.rollout(config.sequence_length))
    before = {k: v.clone() for k, v in learner.state_dict()["actors"].items()}
    stats = learner.update(replay.sample(8))
    assert np.isfinite(stats["critic_loss"]) and np.isfinite(stats["actor_loss"])
    after = learner.state_dict()["actors"]
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_absent_vehicles_change_no_loss():
    config = replace(
        SPREAD, env="vehicles", env_config={"max_seconds": 20, "action_bins": 5}, policies="shared"
    )
    chunk = MADDPGSampler(config, 4, seed=2).record(
        12, lambda obs, active: MADDPGSampler(config, 4, 2).act(obs, active)
    )
    absent = ~chunk["present"]
    assert bool(absent.any())
    noisy = dict(chunk)
    g = torch.Generator().manual_seed(3)
    for key in ("obs", "rewards"):
        noise = torch.randn(chunk[key].shape, generator=g) * 1e3
        where = absent.reshape(*absent.shape, *([1] * (chunk[key].dim() - 3)))
        noisy[key] = torch.where(where, noise.to(chunk[key].dtype), chunk[key])
    torch.manual_seed(0)
    clean = MADDPGLearner(config).update(chunk)
    torch.manual_seed(0)
    again = MADDPGLearner(config).update(noisy)
    assert clean["critic_loss"] == pytest.approx(again["critic_loss"], rel=1e-6)
    assert clean["actor_loss"] == pytest.approx(again["actor_loss"], rel=1e-6)


def test_cli_trains_and_evaluates_maddpg(ray_session, tmp_path, capsys):
    config = str(ROOT / "tune_configs" / "maddpg_simple_spread.yaml")
    sets = [
        "stop.training_iteration=1",
        "training.extra.updates_per_iteration=5",
        "training.extra.learning_starts=200",
        "training.train_batch_size=16",
        f"storage_path={tmp_path}",
    ]
    assert main(["train", config, *[a for s in sets for a in ("--set", s)], "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["algorithm"] == "MADDPG" and summary["timesteps"] >= 200
    assert main(["evaluate", summary["checkpoint"], "--episodes", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 4 and np.isfinite(result["episode_return_mean"])
    assert set(result["policy_returns"]) == {"agent_0", "agent_1", "agent_2"}
