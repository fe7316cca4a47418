"""What the drivers with one learner actor share (MARL_PPO, MARL_IMPALA, IQL/VDN/QMIX): a
checkpoint state of the learner, the driver's counters and the recent episodes."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import ray

from marl_ray.algorithms.actor_driver import ActorDriver


class LearnerDriver(ActorDriver):
    """Subclasses set `learner` (the learner actor), `window` (recent episodes) and the int
    attributes named in `COUNTERS`, and discard work begun on replaced weights in
    `_discard_in_flight`."""

    COUNTERS: ClassVar[tuple[str, ...]]

    def state_dict(self) -> dict[str, Any]:
        return {
            "learner": ray.get(self.learner.state_dict.remote()),
            **{name: getattr(self, name) for name in self.COUNTERS},
            "episodes": self.window.state_dict(),
        }

    @staticmethod
    def policy_weights(state: dict[str, Any]) -> dict[str, Any]:
        return state["learner"]["weights"]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ray.get(self.learner.load_state_dict.remote(state["learner"]))
        for name in self.COUNTERS:
            setattr(self, name, int(state[name]))
        self.window.load_state_dict(state["episodes"])
        self.weights = self.learner.get_weights.remote()
        self._discard_in_flight()

    @abc.abstractmethod
    def _discard_in_flight(self) -> None:
        """Drops work begun on the weights just replaced (new work uses `self.weights`)."""
