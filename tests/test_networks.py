"""Actor-critic networks: shapes and distributions for every supported space."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from envs.schema import ConfigError
from marl_ray.algorithms.core.networks import NetworkConfig, build_actor_critic


def test_mlp_discrete_shapes_and_near_uniform_start():
    net = build_actor_critic(gym.spaces.Box(-1, 1, (7,)), gym.spaces.Discrete(5))
    logits, value = net(torch.zeros(11, 7))
    assert logits.shape == (11, 5) and value.shape == (11,)
    probs = net.distribution(logits).probs
    np.testing.assert_allclose(probs.detach().numpy(), 0.2, atol=0.02)
    assert net.act(torch.zeros(3, 7)).shape == (3,)


def test_mlp_continuous_gaussian():
    net = build_actor_critic(
        gym.spaces.Box(-1, 1, (4,)), gym.spaces.Box(-1, 1, (2,)), NetworkConfig(initial_log_std=0.0)
    )
    params, value = net(torch.zeros(6, 4))
    assert params.shape == (6, 4)  # means and log stds: the whole behaviour distribution
    dist = net.distribution(params)
    assert dist.sample().shape == (6, 2) and dist.log_prob(torch.zeros(6, 2)).shape == (6,)
    assert torch.allclose(dist.base_dist.scale, torch.ones(6, 2))
    with torch.no_grad():
        net.log_std += 0.5  # the stored parameters still describe the old policy
    assert torch.allclose(net.distribution(params).base_dist.scale, torch.ones(6, 2))
    assert net.act(torch.zeros(6, 4), greedy=True).shape == (6, 2)


def test_conv_encoder_on_image_observations():
    config = NetworkConfig(encoder="conv", conv_channels=[4, 8], hidden_sizes=[32])
    net = build_actor_critic(gym.spaces.Box(0, 1, (5, 5, 3)), gym.spaces.Discrete(5), config)
    logits, value = net(torch.rand(2, 5, 5, 3))
    assert logits.shape == (2, 5) and value.shape == (2,)
    loss = logits.sum() + value.sum()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())


def test_bad_spaces_are_rejected():
    with pytest.raises(ConfigError, match="conv needs"):
        build_actor_critic(
            gym.spaces.Box(0, 1, (5,)), gym.spaces.Discrete(2), NetworkConfig("conv")
        )
    with pytest.raises(ConfigError, match="finite bounds"):
        build_actor_critic(gym.spaces.Box(0, 1, (5,)), gym.spaces.Box(0, np.inf, (2,)))
    with pytest.raises(ConfigError, match="Discrete or a 1-D Box"):
        build_actor_critic(gym.spaces.Box(0, 1, (5,)), gym.spaces.MultiBinary(3))
