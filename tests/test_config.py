"""Experiment-file validation: every error names the bad key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from ray import tune

from envs.schema import ConfigError
from marl_ray.config import build_experiment, load_experiment, parse_override
from marl_ray.search_space import to_domain

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = {"stop": {"training_iteration": 1}}


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tune_configs").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_experiment_files_validate(path):
    exp = load_experiment(path)
    assert exp.env.name and exp.stop.criteria()


@pytest.mark.parametrize(
    "data,overrides,match",
    [
        ({"algoritm": "PPO"}, [], r"unknown key algoritm; allowed keys: name, algorithm"),
        ({}, ["training.lrr=1"], r"'lrr' is not in training; allowed: lr, gamma"),
        ({}, ["algorithm=A2C"], r"algorithm='A2C' is not allowed; allowed: 'PPO' \| 'APPO'"),
        ({"env": {"name": "chess"}}, [], r"unknown env 'chess'; registered envs: grid_world"),
        ({"env": {"config": {"size": 3}}}, [], r"unknown key env.config.size; allowed keys"),
        ({}, ["training.lr=fast"], r"training.lr='fast' has the wrong type; expected float"),
        ({}, ["training.lr=-1"], r"training.lr must be > 0"),
        ({}, ["multi_agent.policies=some"], r"allowed: 'shared' \| 'independent'"),
        ({}, ["resources.num_gpus=many"], r"resources.num_gpus='many'"),
        ({"stop": {"metric": {"success_rate": 0.9}}}, [], r"stop needs at least one of"),
        ({}, ["stop.metric.win=1"], r"unknown metric 'win'; use one of"),
        ({}, ["tune.metric=loss"], r"unknown metric 'loss'"),
        ({}, ["lr=1"], r"unknown key 'lr': 'lr' is not in the experiment file"),
        ({}, ["training.lr.x=1"], r"training.lr is a value"),
        ({}, ["training.lr"], r"--set expects key=value"),
    ],
)
def test_errors_name_the_key_and_the_allowed_values(data, overrides, match):
    with pytest.raises(ConfigError, match=match):
        build_experiment({**MINIMAL, **data}, overrides)


@pytest.mark.parametrize(
    "spec,match",
    [
        ({"normal": [0, 1]}, "unknown search type 'normal'; allowed: grid_search, choice"),
        ({"uniform": [1, 0]}, "low must be < high"),
        ({"loguniform": [0, 1]}, "loguniform needs low > 0"),
        ({"randint": [0.5, 3]}, "randint needs integer bounds"),
        ({"choice": []}, "needs a non-empty list"),
        ({"choice": [1], "uniform": [0, 1]}, "exactly one of"),
    ],
)
def test_bad_search_specs(spec, match):
    with pytest.raises(ConfigError, match=match):
        build_experiment({**MINIMAL, "tune": {"search_space": {"training.lr": spec}}})


def test_search_keys_must_exist_in_the_schema():
    with pytest.raises(ConfigError, match="'learning_rate' is not in training"):
        build_experiment(
            {**MINIMAL, "tune": {"search_space": {"training.learning_rate": {"choice": [1]}}}}
        )


def test_overrides_parse_yaml_values_and_reach_nested_keys():
    exp = build_experiment(
        MINIMAL,
        [
            "training.lr=1e-3",
            "model.hidden_sizes=[32, 16]",
            "env.config.mode=competitive",
            "resources.num_gpus=0",
            "stop.metric.success_rate=0.9",
        ],
    )
    assert exp.training.lr == pytest.approx(1e-3)
    assert exp.model.hidden_sizes == [32, 16]
    assert exp.env.config == {"mode": "competitive"}
    assert exp.resources.num_gpus == 0
    assert exp.stop.criteria() == {"training_iteration": 1, "env_runners/success_rate": 0.9}
    assert parse_override("name=a=b") == ("name", "a=b")


def test_every_search_type_becomes_its_tune_domain():
    grid = to_domain({"grid_search": [1, 2]})
    assert grid == {"grid_search": [1, 2]}
    assert isinstance(to_domain({"choice": ["a", "b"]}), tune.search.sample.Categorical)
    uniform = to_domain({"uniform": [0.1, 0.2]})
    assert (uniform.lower, uniform.upper) == (0.1, 0.2)
    log = to_domain({"loguniform": [1e-4, 1e-2]})
    assert isinstance(log.sampler, tune.search.sample.Float._LogUniform)
    randint = to_domain({"randint": [1, 3]})
    samples = {randint.sample() for _ in range(300)}
    assert samples == {1, 2, 3}  # our upper bound is inclusive


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_experiment(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_experiment(bad)
