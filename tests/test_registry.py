"""The algorithm registry is the one list: trainables load, and their Ray class names are
what `marl-ray status` recognises as trial actors."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from envs.schema import ConfigError
from marl_ray.config import ExperimentConfig, build_experiment
from marl_ray.jobs import status
from marl_ray.trainables import ALGORITHMS, REGISTRY, capability_table, trainable_class


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


def test_capabilities_are_checked_when_the_experiment_is_read():
    base = {"env": {"name": "grid_world"}, "storage_path": "results"}

    def build(**sections):
        return build_experiment({**base, **sections})

    build(algorithm="MARL_PPO", multi_agent={"policies": "independent"})
    build(algorithm="A3C", multi_agent={"policies": "by_group"})
    with pytest.raises(ConfigError, match="ES does not train multi_agent.policies=by_group"):
        build(algorithm="ES", multi_agent={"policies": "by_group"})
    with pytest.raises(ConfigError, match="not available with ES; allowed: default"):
        build(algorithm="ES", model={"module": "mlp"})
    build(algorithm="MARL_IMPALA", env={"name": "vehicles"})
    with pytest.raises(ConfigError, match="fixed set of agents.*A3C, MARL_IMPALA, MARL_PPO"):
        build(algorithm="ES", env={"name": "vehicles"})
    with pytest.raises(ConfigError, match="join and leave"):
        build(algorithm="PPO", env={"name": "vehicles"}, multi_agent={"policies": "self_play"})


def test_the_readme_table_is_the_registry():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert capability_table() in readme


def test_bundle_slots_skip_empty_bundles_and_stay_out_of_the_way_without_a_group():
    from marl_ray.algorithms.trainable import NO_SLOTS, BundleSlots

    slots = BundleSlots([{"CPU": 0.5, "GPU": 0}, {"CPU": 0}, {"CPU": 1.0}], placement_group=None)
    assert slots.index == {0: 1, 2: 2} and slots.options(0) == {}
    assert NO_SLOTS.options(3) == {}
