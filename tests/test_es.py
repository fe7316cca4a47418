"""ES on the session's Ray: shared theta, re-dispatch after a killed worker, bytes per
generation, checkpoints, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import ray

from envs.schema import ConfigError
from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.algorithms.es.actors import ESWorkerHost
from marl_ray.algorithms.es.config import ESConfig, es_config
from marl_ray.algorithms.es.driver import ESDriver
from marl_ray.algorithms.es.trainable import ESTrainable
from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.param_space import make_param_space

ROOT = Path(__file__).resolve().parents[1]
CARTPOLE = str(ROOT / "tune_configs" / "es_cartpole.yaml")
SMALL = ESConfig(
    env="grid_world",
    env_config={"max_steps": 20},
    num_workers=2,
    num_cpus_per_worker=0.5,
    population=8,
    noise_table_size=100_000,
    eval_episodes=2,
)


def _assert_workers_hold(driver, theta):
    """Every worker's theta equals `theta` exactly (same float32 array, no summation)."""
    for worker_theta in ray.get([w.theta.remote() for w in driver.workers]):
        np.testing.assert_array_equal(worker_theta, theta)


@ray.remote
class _ApplyRaises(ESWorkerHost):
    """An ES worker whose `apply` fails: the driver must not go on with a stale theta."""

    def apply(self, update):
        raise RuntimeError("apply broke on purpose")


def test_workers_keep_the_drivers_theta_and_a_lost_worker_is_redispatched(ray_session):
    driver = ESDriver(SMALL, "es/test-kill", metrics=None)
    try:
        driver.train(2)
        ray.kill(driver.workers[1])
        figures = driver.train(2)
        assert driver.restarts == 1 and driver.generations == 4
        assert driver.evaluations == 4 * SMALL.population  # no perturbation lost or doubled
        _assert_workers_hold(driver, driver.model.theta)
        assert figures["evaluations_per_s"] > 0
    finally:
        driver.stop()


def test_a_worker_whose_apply_raises_fails_the_trial(ray_session):
    class FaultyDriver(ESDriver):
        worker_class = _ApplyRaises

    driver = FaultyDriver(SMALL, "es/test-apply-raises", metrics=None)
    try:
        with pytest.raises(RuntimeError, match="apply broke on purpose"):
            driver.train(1)
    finally:
        driver.stop()


def test_bytes_per_generation_do_not_grow_with_parameters(ray_session):
    sizes = {}
    for hidden in ([8], [256, 256]):
        config = ESConfig(**{**SMALL.__dict__, "network": NetworkConfig(hidden_sizes=hidden)})
        driver = ESDriver(config, f"es/test-bytes-{len(hidden)}", metrics=None)
        try:
            figures = driver.train(1)
            sizes[figures["parameters"]] = figures["bytes_per_generation"]
        finally:
            driver.stop()
    (small_params, small_bytes), (large_params, large_bytes) = sorted(sizes.items())
    assert large_params > 100 * small_params
    assert abs(large_bytes - small_bytes) / small_bytes < 0.1


def test_trainable_checkpoint_round_trip(ray_session, tmp_path):
    exp = load_experiment(
        CARTPOLE,
        [
            "training.extra.population=8",
            "training.extra.noise_table_size=100000",
            "training.extra.eval_episodes=1",
            "resources.num_cpus_per_env_runner=0.5",
            "resources.num_env_runners=1",
        ],
    )
    space = make_param_space(exp, 0, False)
    first = ESTrainable(config=space)
    try:
        first.train()
        first.save_checkpoint(str(tmp_path))
        theta = first.driver.model.theta.copy()
        adam_t = first.driver.model.adam.t
    finally:
        first.stop()
    second = ESTrainable(config=space)
    try:
        second.load_checkpoint(str(tmp_path))
        np.testing.assert_array_equal(second.driver.model.theta, theta)
        assert second.driver.model.adam.t == adam_t == 2
        _assert_workers_hold(second.driver, theta)
        second.train()
        assert second.driver.generations == 4
    finally:
        second.stop()


def test_es_rejects_gradient_method_keys():
    with pytest.raises(ConfigError, match="ES does not use training.gamma"):
        es_config(load_experiment(CARTPOLE, ["training.gamma=0.9"]))
    with pytest.raises(ConfigError, match="population must be an even number"):
        es_config(load_experiment(CARTPOLE, ["training.extra.population=7"]))


def test_cli_trains_and_evaluates_es(ray_session, tmp_path, capsys):
    sets = [
        "stop.training_iteration=1",
        "training.extra.population=8",
        "training.extra.noise_table_size=100000",
        "resources.num_cpus_per_env_runner=0.5",
        "resources.num_env_runners=1",
        f"storage_path={tmp_path}",
    ]
    assert main(["train", CARTPOLE, *[a for s in sets for a in ("--set", s)], "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["algorithm"] == "ES" and summary["timesteps"] > 0
    assert main(["evaluate", summary["checkpoint"], "--episodes", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["episodes"] == 3
