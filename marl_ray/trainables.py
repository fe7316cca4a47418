"""Algorithm name -> Tune trainable class (RLlib's through our wrapper, and our own)."""

from __future__ import annotations

RLLIB_ALGORITHMS = ("PPO", "APPO", "IMPALA", "DQN", "SAC")
OWN_ALGORITHMS = ("A3C", "MARL_IMPALA", "ES", "ALPHAZERO")
ALGORITHMS = RLLIB_ALGORITHMS + OWN_ALGORITHMS


def trainable_class(algorithm: str) -> type:
    if algorithm in RLLIB_ALGORITHMS:
        from marl_ray.rllib.trainables import TRAINABLES

        return TRAINABLES[algorithm]
    if algorithm == "A3C":
        from marl_ray.algorithms.a3c.trainable import A3CTrainable

        return A3CTrainable
    if algorithm == "MARL_IMPALA":
        from marl_ray.algorithms.impala.trainable import ImpalaTrainable

        return ImpalaTrainable
    if algorithm == "ES":
        from marl_ray.algorithms.es.trainable import ESTrainable

        return ESTrainable
    if algorithm == "ALPHAZERO":
        from marl_ray.algorithms.alphazero.trainable import AlphaZeroTrainable

        return AlphaZeroTrainable
    raise KeyError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")
