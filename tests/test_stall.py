"""Drivers fail a trial whose actors stop returning work (`marl_ray.algorithms.stall`)."""

from __future__ import annotations

import time

import pytest
import ray

from envs.schema import ConfigError
from marl_ray.algorithms.stall import (
    ActorsStalled,
    WorkClock,
    all_ready,
    first_ready,
    get_within,
)
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
        quick = _sleep.remote(0)
        with pytest.raises(ActorsStalled, match="no A3C gradient application returned"):
            all_ready([quick, stuck], 0.5, "A3C gradient application")
        assert time.time() - start < 10
        assert first_ready([stuck, quick], 30, "anything") == quick
        assert get_within(quick, 30, "anything") == 0
        assert all_ready([quick], 30, "anything") == [quick]
        assert all_ready([], 30, "anything") == []
    finally:
        ray.cancel(stuck, force=True)


def test_replacing_actors_without_work_for_the_stall_timeout_raises(monkeypatch):
    """Replacements that keep dying return errors, not work: the clock of the last result
    fails the trial once the stall timeout has passed without one."""
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    clock = WorkClock()
    now[0] += 29.0
    clock.check(30.0, "A3C gradient")  # within the timeout: nothing happens
    clock.worked()
    now[0] += 29.0
    clock.check(30.0, "A3C gradient")  # work came back 29 s ago
    now[0] += 2.0
    with pytest.raises(ActorsStalled, match=r"no A3C gradient returned in 30 s"):
        clock.check(30.0, "A3C gradient")


def test_stall_timeout_must_be_positive():
    with pytest.raises(ConfigError, match="stall_timeout_s must be > 0"):
        ResourcesSection(stall_timeout_s=0)
