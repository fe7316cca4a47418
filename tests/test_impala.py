"""marl_ray's IMPALA: learner step, queue bound, actor replacement, checkpoints, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import ray
import torch

from marl_ray.algorithms.core.multi_agent_rollout import MultiAgentSampler, concat_policy_rollouts
from marl_ray.algorithms.core.policy_network import build_policies
from marl_ray.algorithms.impala.config import ImpalaConfig
from marl_ray.algorithms.impala.driver import ImpalaDriver
from marl_ray.algorithms.impala.learner import ImpalaLearner
from marl_ray.algorithms.impala.trainable import ImpalaTrainable
from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.param_space import make_param_space

ROOT = Path(__file__).resolve().parents[1]
GRID = str(ROOT / "tune_configs" / "impala_grid_world.yaml")
SMALL = ImpalaConfig(
    env="grid_world",
    env_config={},
    num_actors=2,
    num_envs_per_actor=8,
    num_cpus_per_actor=0.5,
    rollout_length=10,
    batch_trajectories=2,
    queue_size=2,
    updates_per_iteration=5,
)


def sampler(config: ImpalaConfig, num_envs: int, seed: int) -> MultiAgentSampler:
    _, groups, nets = build_policies(config, "MARL_IMPALA")
    return MultiAgentSampler(config.env, config.env_config, num_envs, groups, nets, seed)


def test_a_learner_step_lowers_the_loss_on_its_batch():
    """With the V-trace targets held fixed, one step lowers the loss it descended."""
    config = replace(SMALL, lr=1e-3)
    worker = sampler(config, 16, seed=3)
    batch = concat_policy_rollouts([worker.rollout(10)["shared"], worker.rollout(10)["shared"]])
    learner = ImpalaLearner(config, torch.device("cpu"))
    losses, _, targets = learner.loss("shared", batch)
    stats = learner.update([{"shared": batch}], behaviour_versions=[0])
    before, after = (
        float(losses.total.detach()),
        float(learner.loss("shared", batch, targets)[0].total.detach()),
    )
    assert after < before
    assert learner.version == 1 and stats["policy_lag"] == 0.0


def test_box_actions_keep_the_behaviour_std():
    """V-trace's rho compares the behaviour policy's probability of each action (whatever
    its std) with the learner's current one: moving only the learner's log-std must move
    rho off 1."""
    config = replace(SMALL, env="resource_allocation")
    worker = sampler(config, 8, seed=5)
    batch = worker.rollout(10)["shared"]
    learner = ImpalaLearner(config, "cpu")
    learner.nets["shared"].load_state_dict(worker.nets["shared"].state_dict())
    assert learner.loss("shared", batch)[1]["mean_rho"] == pytest.approx(1.0, abs=1e-5)
    with torch.no_grad():
        learner.nets["shared"].log_std += 0.5
    assert abs(learner.loss("shared", batch)[1]["mean_rho"] - 1.0) > 0.05


def test_run_time_hyperparameters_reach_the_optimiser():
    learner = ImpalaLearner(SMALL, "cpu")
    learner.set_hyperparameters(lr=0.123, entropy_coef=0.5)
    assert learner.optimizers["shared"].param_groups[0]["lr"] == 0.123
    assert learner.entropy_coef == 0.5


def test_vehicles_train_with_a_presence_mask_and_groups_get_their_own_networks():
    """The retrofit: agents that join and leave, and one network per agent type."""
    vehicles = replace(SMALL, env="vehicles", env_config={"max_seconds": 20})
    batch = sampler(vehicles, 4, seed=2).rollout(40)
    assert not bool(batch["shared"].mask.all())
    stats = ImpalaLearner(vehicles, "cpu").update([batch], behaviour_versions=[0])
    assert stats["shared"]["present_rows"] == float(batch["shared"].mask.sum())
    grid = replace(SMALL, env="smart_grid", env_config={}, policies="by_group")
    stats = ImpalaLearner(grid, "cpu").update([sampler(grid, 4, 1).rollout(12)], [0])
    assert {"thermal", "renewable", "consumer", "storage"} <= set(stats)


def test_queue_bound_holds_and_a_killed_actor_is_replaced(ray_session):
    driver = ImpalaDriver(SMALL, "impala/test", metrics=None)
    try:
        driver.train(3)
        victim = driver.samplers[1]
        ray.kill(victim)
        figures = driver.train(15)
        assert driver.restarts >= 1 and driver.samplers[1] is not victim
        assert driver.max_queue_seen <= SMALL.queue_size
        steps_per_trajectory = SMALL.rollout_length * SMALL.num_envs_per_actor
        assert driver.env_steps == driver.trajectories * steps_per_trajectory
        assert figures["learner_updates"] == 18 and figures["policy_lag"] >= 0
    finally:
        driver.stop()


def test_trainable_checkpoint_round_trip_and_fake_gpu(ray_session, tmp_path):
    exp = load_experiment(
        GRID, ["training.extra.updates_per_iteration=3", "resources.num_env_runners=1"]
    )
    space = make_param_space(exp, 1, False)  # the session's fake GPU: learner falls back
    request = ImpalaTrainable.default_resource_request(space)
    assert sum(b.get("GPU", 0) for b in request.bundles) == 1
    first = ImpalaTrainable(config=space)
    try:
        assert ray.get(first.driver.learner.device.remote()) == "cpu"
        first.train()
        first.save_checkpoint(str(tmp_path))
        saved = ray.get(first.driver.learner.state_dict.remote())
    finally:
        first.stop()
    second = ImpalaTrainable(config=make_param_space(exp, 0, False))
    try:
        second.load_checkpoint(str(tmp_path))
        restored = ray.get(second.driver.learner.state_dict.remote())
        assert restored["version"] == saved["version"] == 3
        for k, v in saved["weights"]["shared"].items():
            assert torch.equal(v, restored["weights"]["shared"][k])
        assert second.driver.env_steps == first.driver.env_steps
        assert second.train()["learners"]["learner_updates"] == 6
    finally:
        second.stop()


def test_cli_trains_and_evaluates_impala_on_box_actions(ray_session, tmp_path, capsys):
    sets = [
        "env.name=resource_allocation",
        "env.config={}",
        "stop.training_iteration=1",
        "stop.metric={}",
        "tune.metric=episode_return_mean",
        "training.extra.updates_per_iteration=2",
        "resources.num_envs_per_env_runner=8",
        "resources.num_env_runners=1",
        f"storage_path={tmp_path}",
    ]
    assert main(["train", GRID, *[a for s in sets for a in ("--set", s)], "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["env"] == "resource_allocation" and summary["timesteps"] > 0
    args = ["evaluate", summary["checkpoint"], "--episodes", "4", "--json"]
    for extra in ([], ["--explore"]):
        assert main(args + extra) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["episodes"] == 4 and np.isfinite(result["episode_return_mean"])
