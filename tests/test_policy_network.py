"""The acting and learning shortcuts of `PolicyNetwork` against torch's own distributions
and kernels: the draws, log-probabilities and entropies, the layer loop and the fast tanh."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch.distributions import Categorical, Independent, Normal

from marl_ray.algorithms.core.fast_tanh import LARGE, tanh
from marl_ray.algorithms.core.policy_network import (
    ObservationLayout,
    PolicyModelConfig,
    PolicyNetwork,
    sample_with_log_prob,
)


def network(action_space: gym.Space, mask_index: tuple[int, ...] = ()) -> PolicyNetwork:
    layout = ObservationLayout(tuple(range(6)), (6,), mask_index)
    torch.manual_seed(0)
    return PolicyNetwork(layout, action_space, 0, PolicyModelConfig(hidden_sizes=[16, 16]))


def test_categorical_draws_follow_the_probabilities_and_report_their_log_probs():
    logits = torch.tensor([[2.0, 0.0, -1.0, torch.finfo(torch.float32).min]]).repeat(40_000, 1)
    generator = torch.Generator().manual_seed(3)
    actions, log_probs = sample_with_log_prob(logits, True, generator)
    reference = Categorical(logits=logits)
    frequencies = torch.bincount(actions, minlength=4).double() / len(actions)
    np.testing.assert_allclose(frequencies, reference.probs[0].double(), atol=0.01)
    assert frequencies[3] == 0  # a masked action is never drawn
    torch.testing.assert_close(log_probs, reference.log_prob(actions))


def test_gaussian_draws_have_the_mean_std_and_log_density_of_the_distribution():
    mean, log_std = torch.tensor([0.5, -2.0]), torch.tensor([-1.0, 0.3])
    params = torch.cat([mean, log_std]).repeat(40_000, 1)
    actions, log_probs = sample_with_log_prob(params, False, torch.Generator().manual_seed(4))
    np.testing.assert_allclose(actions.mean(0), mean, atol=0.02)
    np.testing.assert_allclose(actions.std(0), log_std.exp(), rtol=0.02)
    reference = Independent(Normal(mean, log_std.exp()), 1)
    torch.testing.assert_close(log_probs, reference.log_prob(actions))


def test_log_prob_and_entropy_equal_the_distributions_with_masks_and_boxes():
    discrete = network(gym.spaces.Discrete(3), mask_index=(3, 4, 5))
    rows = torch.rand(50, 6)
    rows[:, 3:] = (torch.rand(50, 3) > 0.4).float()
    rows[:, 3] = 1.0  # at least one action allowed
    params = discrete.policy(rows)
    actions = discrete.distribution(params).sample()
    log_probs, entropy = discrete.log_prob_and_entropy(params, actions)
    reference = discrete.distribution(params)
    torch.testing.assert_close(log_probs, reference.log_prob(actions))
    torch.testing.assert_close(entropy, reference.entropy())

    box = network(gym.spaces.Box(-2.0, 2.0, (3,)))
    params = box.policy(torch.rand(50, 6))
    actions = box.distribution(params).sample()
    log_probs, entropy = box.log_prob_and_entropy(params, actions)
    reference = box.distribution(params)
    torch.testing.assert_close(log_probs, reference.log_prob(actions))
    torch.testing.assert_close(entropy, reference.entropy())


def test_act_is_the_forward_pass_and_a_draw_from_it():
    net = network(gym.spaces.Discrete(4))
    rows = torch.rand(32, 6)
    actions, log_probs = net.act(rows, torch.Generator().manual_seed(1))
    params, _ = net(rows)
    torch.testing.assert_close(log_probs, net.distribution(params).log_prob(actions))
    # The layer loop computes what the modules compute.
    torch.testing.assert_close(params, net.actor(rows))


def test_fast_tanh_is_tanh_in_value_and_gradient():
    x = torch.linspace(-12.0, 12.0, LARGE * 4, requires_grad=True)
    fast = tanh(x)
    np.testing.assert_allclose(fast.detach(), torch.tanh(x).detach(), atol=3e-7)
    (grad,) = torch.autograd.grad(fast.square().sum(), x)
    (expected,) = torch.autograd.grad(torch.tanh(x).square().sum(), x)
    np.testing.assert_allclose(grad, expected, atol=1e-6)
    small = torch.randn(LARGE // 2)
    assert torch.equal(tanh(small), torch.tanh(small))  # small batches keep torch's kernel


def test_rows_padded_for_a_wider_agent_are_cut_to_the_observation():
    layout = ObservationLayout((0, 1), (2,))
    net = PolicyNetwork(layout, gym.spaces.Discrete(3), 0, PolicyModelConfig(hidden_sizes=[8]))
    rows = torch.tensor([[0.1, 0.2, 9.0], [0.3, 0.4, -9.0]])  # a third, padded column
    torch.testing.assert_close(net.own_observations(rows), rows[:, :2])
    torch.testing.assert_close(net.policy(rows), net.policy(rows[:, :2]))
