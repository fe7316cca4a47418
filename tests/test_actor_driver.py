"""A trial's setup waits until its driver's actors are constructed (`ActorDriver`)."""

from __future__ import annotations

import time

import pytest
import ray

from marl_ray.algorithms.actor_driver import ActorDriver
from marl_ray.algorithms.stall import ActorsStalled


@ray.remote(num_cpus=0)
class _Starting:
    def __init__(self, seconds: float, fail: bool = False):
        time.sleep(seconds)
        if fail:
            raise ValueError("this actor cannot start")
        self.started = time.time()

    def started_at(self) -> float:
        return self.started


class _Driver(ActorDriver):
    def __init__(self, *actors):
        self.started = list(actors)

    def actors(self):
        return self.started


def test_wait_started_returns_after_every_constructor(ray_session):
    driver = _Driver(_Starting.remote(0.0), _Starting.remote(1.0))
    try:
        driver.wait_started()
        returned = time.time()
        assert all(ray.get(a.started_at.remote()) <= returned for a in driver.actors())
    finally:
        driver.stop()


def test_wait_started_raises_a_constructors_error(ray_session):
    driver = _Driver(_Starting.remote(0.0), _Starting.remote(0.0, fail=True))
    try:
        with pytest.raises(ray.exceptions.RayActorError, match="this actor cannot start"):
            driver.wait_started()
    finally:
        driver.stop()


def test_an_actor_that_never_starts_fails_after_the_stall_timeout(ray_session):
    driver = _Driver(_Starting.remote(60.0))
    driver.stall_timeout_s = 0.5
    try:
        with pytest.raises(ActorsStalled, match="no actor start returned in 0.5 s"):
            driver.wait_started()
    finally:
        driver.stop()
