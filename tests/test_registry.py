"""The algorithm registry is the one list: trainables load, and their Ray class names are
what `marl-ray status` recognises as trial actors."""

from __future__ import annotations

import typing

import pytest

from marl_ray.config import ExperimentConfig
from marl_ray.jobs import status
from marl_ray.trainables import ALGORITHMS, REGISTRY, trainable_class


@pytest.mark.parametrize("name", ALGORITHMS)
def test_every_algorithm_loads_and_status_knows_its_trials(name):
    cls = trainable_class(name)
    assert cls.__name__ == REGISTRY[name].trial_class_name
    assert cls.__name__ in status.TRIAL_CLASS_NAMES


def test_the_config_allows_exactly_the_registered_algorithms():
    hints = typing.get_type_hints(ExperimentConfig, vars(__import__("marl_ray.config").config))
    assert typing.get_args(hints["algorithm"]) == ALGORITHMS
    assert "AlphaZeroTrainable" in status.TRIAL_CLASS_NAMES
    with pytest.raises(KeyError, match="known: PPO"):
        trainable_class("NOPE")
