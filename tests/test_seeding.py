"""The experiment's `seed` fixes every network build and actor RNG of our own algorithms."""

from __future__ import annotations

import dataclasses

import torch

from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.a3c.server import build_parameter_server
from marl_ray.algorithms.core.multi_agent_rollout import MultiAgentSampler
from marl_ray.algorithms.core.policy_network import build_policies
from marl_ray.algorithms.impala.config import ImpalaConfig
from marl_ray.algorithms.impala.learner import ImpalaLearner
from marl_ray.algorithms.ppo.config import PPOConfig
from marl_ray.algorithms.ppo.learner import PPOLearner


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
        lambda seed: ImpalaLearner(dataclasses.replace(config, seed=seed), "cpu").nets["shared"]
    )


def test_marl_ppo_policies_follow_the_seed_each_its_own():
    config = PPOConfig(env="smart_grid", env_config={}, policies="by_group")
    _check_builds(lambda seed: PPOLearner(dataclasses.replace(config, seed=seed)).nets["thermal"])
    nets = PPOLearner(config).nets
    assert not torch.equal(nets["thermal"].critic[1].weight, nets["storage"].critic[1].weight)


def test_a3c_parameter_server_network_follows_the_seed():
    config = A3CConfig(env="grid_world", env_config={})
    _check_builds(
        lambda seed: build_parameter_server(dataclasses.replace(config, seed=seed), "cpu").net
    )


def test_multi_agent_sampler_actions_follow_the_seed():
    config = ImpalaConfig(env="grid_world", env_config={})

    def actions(seed):
        torch.manual_seed(999)
        _, groups, nets = build_policies(config, "MARL_IMPALA")
        return (
            MultiAgentSampler("grid_world", {}, 4, groups, nets, seed).rollout(20)["shared"].actions
        )

    assert torch.equal(actions(3), actions(3))
    assert not torch.equal(actions(3), actions(4))
