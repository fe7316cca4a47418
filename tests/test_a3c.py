"""A3C on the session's Ray: fault tolerance, GPU fallback, checkpoints, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import ray
import torch

from marl_ray.algorithms.a3c.config import A3CConfig, a3c_config
from marl_ray.algorithms.a3c.driver import A3CDriver
from marl_ray.algorithms.a3c.server import build_parameter_server
from marl_ray.algorithms.a3c.trainable import A3CTrainable
from marl_ray.algorithms.a3c.worker import A3CWorker
from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.param_space import make_param_space

ROOT = Path(__file__).resolve().parents[1]
GRID = str(ROOT / "tune_configs" / "a3c_grid_world.yaml")
SMALL = A3CConfig(
    env="grid_world",
    env_config={},
    num_workers=2,
    num_envs_per_worker=4,
    num_cpus_per_worker=0.5,
    rollout_length=5,
)


def test_worker_gradients_are_finite_and_clipped():
    worker = A3CWorker(SMALL, 0)
    weights = {k: v.numpy() for k, v in worker.net.state_dict().items()}
    grads, result = worker.compute_gradients((7, weights))
    assert result.version == 7 and result.env_steps == 5 * 4
    norm = np.sqrt(sum(float((g**2).sum()) for g in grads))
    assert np.isfinite(norm) and 0 < norm <= SMALL.grad_clip + 1e-4


def test_a_killed_worker_is_replaced_and_counters_stay_consistent(ray_session):
    driver = A3CDriver(SMALL, "a3c/test-kill", metrics=None)
    try:
        driver.train(4)
        victim = driver.workers[0]
        ray.kill(victim)
        driver.train(30)
        assert driver.restarts >= 1 and driver.workers[0] is not victim
        steps_per_result = SMALL.rollout_length * SMALL.num_envs_per_worker
        assert driver.env_steps == driver.results_received * steps_per_result
        counters = ray.get(driver.ps.counters.remote())
        assert counters["applied"] + counters["dropped_stale"] <= driver.results_received
        assert counters["applied"] >= 30
    finally:
        driver.stop()


@ray.remote
class _ApplyRaises:
    """A parameter server whose `apply_gradients` fails."""

    def __init__(self, config):
        self.server = build_parameter_server(config, "cpu")

    def get_weights(self):
        return self.server.get_weights()

    def apply_gradients(self, grads, version):
        raise RuntimeError("apply_gradients broke on purpose")

    def counters(self):
        return {"version": 0, "applied": 0, "dropped_stale": 0}


def test_a_failing_apply_gradients_fails_the_trial(ray_session):
    driver = A3CDriver(SMALL, "a3c/test-apply-raises", metrics=None)
    healthy, driver.ps = driver.ps, _ApplyRaises.remote(SMALL)
    try:
        with pytest.raises(RuntimeError, match="apply_gradients broke on purpose"):
            driver.train(3)
    finally:
        ray.kill(healthy)
        driver.stop()


def test_fake_gpu_is_requested_and_the_server_falls_back_to_cpu(ray_session):
    config = A3CConfig(**{**SMALL.__dict__, "learner_gpus": 1, "num_workers": 1})
    driver = A3CDriver(config, "a3c/test-gpu", metrics=None)
    try:
        assert ray.get(driver.ps.device.remote()) == "cpu"
        driver.train(2)
    finally:
        driver.stop()
    exp = load_experiment(GRID, ["resources.num_gpus=1"])
    request = A3CTrainable.default_resource_request(make_param_space(exp, 1, False))
    assert sum(b.get("GPU", 0) for b in request.bundles) == 1
    assert sum(b.get("CPU", 0) for b in request.bundles) == 2.0


def test_trainable_checkpoint_round_trip(ray_session, tmp_path):
    exp = load_experiment(
        GRID,
        [
            "training.extra.updates_per_iteration=5",
            "resources.num_envs_per_env_runner=4",
            "resources.num_env_runners=1",
        ],
    )
    space = make_param_space(exp, 0, False)
    first = A3CTrainable(config=space)
    try:
        result = first.train()
        assert result["num_env_steps_sampled_lifetime"] > 0
        first.save_checkpoint(str(tmp_path))
        saved = ray.get(first.driver.ps.state_dict.remote())
    finally:
        first.stop()
    second = A3CTrainable(config=space)
    try:
        second.load_checkpoint(str(tmp_path))
        restored = ray.get(second.driver.ps.state_dict.remote())
        assert restored["version"] == saved["version"]
        for k, v in saved["weights"].items():
            assert torch.equal(v, restored["weights"][k])
        a, b = saved["optimizer"]["state"], restored["optimizer"]["state"]
        assert all(torch.equal(a[i]["exp_avg"], b[i]["exp_avg"]) for i in a)
        assert second.driver.env_steps == first.driver.env_steps
        assert second.train()["num_env_steps_sampled_lifetime"] > first.driver.env_steps
    finally:
        second.stop()


def test_a3c_extra_keys_are_validated():
    from envs.schema import ConfigError

    with pytest.raises(ConfigError, match="unknown key training.extra.rollout; allowed"):
        a3c_config(load_experiment(GRID, ["training.extra.rollout=3"]))
    with pytest.raises(ConfigError, match="A3C does not use training.clip_param"):
        a3c_config(load_experiment(GRID, ["training.clip_param=0.2"]))


def test_cli_trains_and_evaluates_a3c(ray_session, tmp_path, capsys):
    sets = [
        "stop.training_iteration=2",
        "training.extra.updates_per_iteration=10",
        "resources.num_env_runners=1",
        f"storage_path={tmp_path}",
    ]
    argv = ["train", GRID, *[a for s in sets for a in ("--set", s)], "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["algorithm"] == "A3C" and summary["training_iterations"] == 2
    assert summary["checkpoint"]
    assert main(["evaluate", summary["checkpoint"], "--episodes", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 8 and 0 <= result["success_rate"] <= 1


def test_workers_train_every_policy_of_a_setup_and_absent_vehicles_push_nothing():
    """The retrofit onto the multi-agent core: one network per agent type (one gradient list
    over all of them), and agents that join and leave."""
    grid = A3CConfig(env="smart_grid", env_config={}, policies="by_group", rollout_length=6)
    worker = A3CWorker(grid, 0)
    weights = {k: v.numpy() for k, v in worker.net.state_dict().items()}
    grads, result = worker.compute_gradients((0, weights))
    assert set(worker.net) == {"thermal", "renewable", "consumer", "storage"}
    assert len(grads) == len(list(worker.net.parameters()))
    for policy_id, net in worker.net.items():
        names = [f"{policy_id}.{n}" for n, _ in net.named_parameters()]
        assert all(any(n == k for k, _ in worker.net.named_parameters()) for n in names)
    assert all(np.isfinite(g).all() for g in grads) and any(np.abs(g).sum() > 0 for g in grads)
    vehicles = A3CConfig(env="vehicles", env_config={"max_seconds": 10}, rollout_length=20)
    grads, result = A3CWorker(vehicles, 0).compute_gradients(
        (0, {k: v.numpy() for k, v in A3CWorker(vehicles, 0).net.state_dict().items()})
    )
    assert result.env_steps == 20 * vehicles.num_envs_per_worker
    assert all(np.isfinite(g).all() for g in grads)
