"""The algorithm registry: every algorithm's name, Tune trainable and family, declared once.

The config's allowed `algorithm` values, `marl-ray status`'s trial classes and the runner's
choice of trainable all read this table, so a new algorithm is added here and nowhere else.
Trainables are named by import path and imported on first use (torch and RLlib are heavy).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Algorithm:
    name: str  # the experiment file's `algorithm:` value
    trainable: str  # "package.module:Class", the Tune trainable
    rllib: bool  # RLlib's algorithm through our wrapper, or one of marl_ray's own

    @property
    def trial_class_name(self) -> str:
        """The class name Ray shows for this algorithm's trial actors."""
        return self.trainable.rsplit(":", 1)[1]

    def load(self) -> type:
        module, attribute = self.trainable.split(":")
        return getattr(importlib.import_module(module), attribute)


REGISTRY: dict[str, Algorithm] = {
    a.name: a
    for a in (
        *(
            Algorithm(name, f"marl_ray.rllib.trainables:Experiment{name}", rllib=True)
            for name in ("PPO", "APPO", "IMPALA", "DQN", "SAC")
        ),
        *(
            Algorithm(name, f"marl_ray.algorithms.{package}.trainable:{cls}", rllib=False)
            for name, package, cls in (
                ("A3C", "a3c", "A3CTrainable"),
                ("MARL_IMPALA", "impala", "ImpalaTrainable"),
                ("ES", "es", "ESTrainable"),
                ("ALPHAZERO", "alphazero", "AlphaZeroTrainable"),
                ("MARL_PPO", "ppo", "PPOTrainable"),
            )
        ),
    )
}
ALGORITHMS = tuple(REGISTRY)
RLLIB_ALGORITHMS = tuple(n for n, a in REGISTRY.items() if a.rllib)
OWN_ALGORITHMS = tuple(n for n, a in REGISTRY.items() if not a.rllib)
TRIAL_CLASS_NAMES = frozenset(a.trial_class_name for a in REGISTRY.values())


def trainable_class(algorithm: str) -> type:
    if algorithm not in REGISTRY:
        raise KeyError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")
    return REGISTRY[algorithm].load()
