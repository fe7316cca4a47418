"""What every driver of our own algorithms shares: the Ray actors it started, waited for
together at start and killed together at stop."""

from __future__ import annotations

import abc
from typing import Any

import ray

from marl_ray.algorithms.stall import DEFAULT_STALL_TIMEOUT_S, all_ready


class ActorDriver(abc.ABC):
    stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S
    """Fail the trial when no actor returns work for this long (`marl_ray.algorithms.stall`)."""

    @abc.abstractmethod
    def actors(self) -> list[Any]:
        """The driver's live actors."""

    def wait_started(self) -> None:
        """Returns once every actor is constructed; raises a constructor's error. A trial
        waits here in its setup, so that its first iteration times training rather than
        processes starting (RLlib's setup waits for its env runners the same way)."""
        refs = [actor.__ray_ready__.remote() for actor in self.actors()]
        ray.get(all_ready(refs, self.stall_timeout_s, "actor start"))

    def stop(self) -> None:
        for actor in self.actors():
            ray.kill(actor)
