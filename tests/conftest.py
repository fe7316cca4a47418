"""Shared fixtures: one local Ray per test session, with a fake GPU so the GPU request path
is exercised on this CPU-only machine."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

# Every env configuration the contract tests run on; later env issues append theirs.
ENV_CASES = [
    ("grid_world", {}),
    ("grid_world", {"mode": "competitive", "num_agents": 3, "grid_size": 6}),
    ("grid_world", {"num_agents": 3, "num_targets": 3, "collisions": "block", "max_steps": 7}),
    ("grid_world", {"grid_size": 4, "action_mask": True}),
    ("grid_world", {"observation": "image", "mode": "competitive", "num_agents": 3}),
    ("matrix_game", {}),
    ("matrix_game", {"game": "chicken", "num_rounds": 3}),
    # Three players with 2, 3 and 2 actions: spaces of their own.
    (
        "matrix_game",
        {
            "game": "custom",
            "num_rounds": 4,
            "payoffs": (np.arange(2 * 3 * 2 * 3).reshape(2, 3, 2, 3) % 5).tolist(),
        },
    ),
    ("resource_allocation", {}),
    (
        "resource_allocation",
        {
            "num_agents": 3,
            "num_resources": 2,
            "capacities": [4.0, 9.0],
            "reward": "individual",
            "num_rounds": 2,
        },
    ),
    ("pz/simple_spread", {}),
    ("pz/pistonball", {"n_pistons": 3, "max_cycles": 12, "resize": 16}),
    ("vehicles", {"max_seconds": 10}),
    ("vehicles", {"scenario": "platoon", "action_bins": 5, "num_followers": 3, "max_seconds": 8}),
    (
        "vehicles",
        {
            "max_vehicles": 6,
            "arrival_rate": 0.3,
            "action_bins": 7,
            "max_seconds": 15,
            "right_of_way": True,
        },
    ),
    ("smart_grid", {}),
    ("two_step_game", {}),
    ("smart_grid", {"action_bins": 5, "steps_per_day": 12, "num_thermal": 2, "num_storage": 2}),
]


TINY_MARL_PPO = [
    "training.train_batch_size=256",
    "training.minibatch_size=256",
    "training.num_epochs=1",
    "training.extra.updates_per_iteration=1",
    "resources.num_env_runners=1",
    "resources.num_envs_per_env_runner=8",
    "env.config.max_steps=10",  # grid world episodes end inside the first iteration
]
"""Overrides that make a grid world MARL_PPO run take seconds (tracking and compare tests)."""

USER_PROJECT = Path(__file__).parent / "user_project"


@pytest.fixture(scope="session")
def user_project(tmp_path_factory) -> Path:
    """A user's project folder outside this repository (a copy of tests/user_project) that
    the test process and the Ray workers import from, as they would from the working
    directory a user starts `marl-ray` in."""
    folder = tmp_path_factory.mktemp("user_project")
    for source in USER_PROJECT.glob("*.py"):
        shutil.copy(source, folder / source.name)
    return folder


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory, user_project):
    import ray

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Workers inherit the environment of the Ray this fixture starts.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(user_project), os.environ.get("PYTHONPATH")) if p
    )
    ray.init(
        address="local",  # never a `ray start` head that a test (or the user) runs
        num_cpus=2,
        num_gpus=1,  # a fake GPU: learners must request it and still run on CPU
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=str(tmp_path_factory.mktemp("ray")),
    )
    yield ray
    ray.shutdown()
