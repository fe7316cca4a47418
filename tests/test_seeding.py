"""The experiment's `seed` fixes every network build and actor RNG of our own algorithms."""

from __future__ import annotations

import dataclasses

import torch

from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.a3c.server import build_parameter_server
from marl_ray.algorithms.core.rollout import RolloutWorker
from marl_ray.algorithms.impala.config import ImpalaConfig
from marl_ray.algorithms.impala.learner import ImpalaLearner


def _weights(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _check_builds(build):
    torch.manual_seed(123)  # the global RNG must not matter
    first = _weights(build(0))
    torch.manual_seed(456)
    again = _weights(build(0))
    other = _weights(build(1))
    assert _same(first, again)
    assert not _same(first, other)


def test_impala_learner_network_follows_the_seed():
    config = ImpalaConfig(env="grid_world", env_config={})
    _check_builds(
        lambda seed: ImpalaLearner.from_config(dataclasses.replace(config, seed=seed), "cpu").net
    )


def test_a3c_parameter_server_network_follows_the_seed():
    config = A3CConfig(env="grid_world", env_config={})
    _check_builds(
        lambda seed: build_parameter_server(dataclasses.replace(config, seed=seed), "cpu").net
    )


def test_rollout_worker_actions_follow_the_seed():
    network = ImpalaConfig(env="grid_world", env_config={}).network

    def actions(seed):
        torch.manual_seed(999)
        return RolloutWorker("grid_world", {}, 4, network, seed=seed).rollout(20).actions

    assert torch.equal(actions(3), actions(3))
    assert not torch.equal(actions(3), actions(4))
