"""Drivers fail a trial whose actors stop returning work (`marl_ray.algorithms.stall`)."""

from __future__ import annotations

import time

import pytest
import ray

from envs.schema import ConfigError
from marl_ray.algorithms.stall import ActorsStalled, first_ready, get_within
from marl_ray.config import ResourcesSection


@ray.remote(num_cpus=0)
def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_waiting_past_the_stall_timeout_raises_with_the_key_to_change(ray_session):
    stuck = _sleep.remote(60)
    try:
        start = time.time()
        with pytest.raises(ActorsStalled, match=r"no A3C gradient returned in 0.5 s"):
            first_ready([stuck], 0.5, "A3C gradient")
        with pytest.raises(ActorsStalled, match="resources.stall_timeout_s"):
            get_within(stuck, 0.5, "PPO rollout")
        assert time.time() - start < 10
        quick = _sleep.remote(0)
        assert first_ready([stuck, quick], 30, "anything") == quick
        assert get_within(quick, 30, "anything") == 0
    finally:
        ray.cancel(stuck, force=True)


def test_stall_timeout_must_be_positive():
    with pytest.raises(ConfigError, match="stall_timeout_s must be > 0"):
        ResourcesSection(stall_timeout_s=0)
