"""Value-decomposition and off-policy math against slow, literal versions of each formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl_ray.algorithms.core.value_math import (
    QMixer,
    double_q_values,
    gumbel_softmax_straight_through,
    maddpg_critic_target,
    n_step_targets,
    polyak_update,
    vdn_mix,
)


def literal_n_step(rewards, next_values, terminated, truncated, gamma, n):
    T, B = rewards.shape
    out = np.zeros((T, B))
    for b in range(B):
        for t in range(T):
            total, k = 0.0, 0
            while True:
                step = t + k
                total += gamma**k * rewards[step, b]
                k += 1
                if terminated[step, b]:
                    break
                if truncated[step, b] or k == n or step == T - 1:
                    total += gamma**k * next_values[step, b]
                    break
            out[t, b] = total
    return out


@pytest.mark.parametrize("shape", [(1, 1), (6, 3), (20, 5)])
@pytest.mark.parametrize("n", [1, 3, 10])
def test_n_step_targets_match_the_literal_sum(shape, n):
    rng = np.random.default_rng(n * 100 + shape[0])
    rewards, next_values = rng.normal(size=shape), rng.normal(size=shape)
    terminated = rng.random(shape) < 0.15
    truncated = rng.random(shape) < 0.1
    expected = literal_n_step(rewards, next_values, terminated, truncated, 0.9, n)
    out = n_step_targets(
        torch.as_tensor(rewards),
        torch.as_tensor(next_values),
        torch.as_tensor(terminated),
        torch.as_tensor(truncated),
        0.9,
        n,
    )
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_one_step_target_is_the_textbook_one():
    r, v = torch.tensor([[1.0], [2.0]]), torch.tensor([[10.0], [20.0]])
    done = torch.tensor([[False], [True]])
    out = n_step_targets(r, v, done, torch.zeros_like(done), 0.5, 1)
    assert out[:, 0].tolist() == [1.0 + 0.5 * 10.0, 2.0]


def test_double_q_takes_the_online_argmax_and_skips_masked_actions():
    online = torch.tensor([[1.0, 5.0, 3.0], [9.0, 0.0, 1.0]])
    target = torch.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    assert double_q_values(online, target).tolist() == [20.0, 40.0]
    mask = torch.tensor([[1, 0, 1], [0, 1, 1]])
    assert double_q_values(online, target, mask).tolist() == [30.0, 60.0]


def test_vdn_sums_present_agents():
    q = torch.tensor([[1.0, 2.0, 3.0]])
    assert vdn_mix(q).item() == 6.0
    assert vdn_mix(q, torch.tensor([[True, False, True]])).item() == 4.0


def test_qmix_shapes_and_monotonicity():
    torch.manual_seed(0)
    mixer = QMixer(num_agents=4, state_size=7, embed=8)
    q = torch.randn(5, 6, 4, requires_grad=True)
    state = torch.randn(5, 6, 7)
    total = mixer(q, state)
    assert total.shape == (5, 6)
    (grad,) = torch.autograd.grad(total.sum(), q)
    assert bool((grad >= 0).all())
    for _ in range(20):  # dQ_tot/dq_a >= 0 for random states and inputs
        q1, s1 = torch.randn(3, 4, requires_grad=True), torch.randn(3, 7) * 3
        (g,) = torch.autograd.grad(mixer(q1, s1).sum(), q1)
        assert bool((g >= 0).all())


def test_qmix_ignores_absent_agents_q_values():
    torch.manual_seed(1)
    mixer = QMixer(num_agents=3, state_size=5)
    state, present = torch.randn(2, 5), torch.tensor([[True, False, True], [True, True, False]])
    q = torch.randn(2, 3)
    garbage = torch.where(present, q, torch.randn(2, 3) * 1e3)
    torch.testing.assert_close(mixer(q, state, present), mixer(garbage, state, present))


def test_maddpg_target():
    r, q = torch.tensor([1.0, 1.0]), torch.tensor([4.0, 4.0])
    out = maddpg_critic_target(r, q, torch.tensor([False, True]), 0.5)
    assert out.tolist() == [3.0, 1.0]


def test_gumbel_softmax_is_one_hot_with_the_soft_gradient():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1000, 4, requires_grad=True)
    sample = gumbel_softmax_straight_through(logits, 1.0, g)
    assert torch.equal(sample.detach().sum(-1), torch.ones(1000))
    assert set(sample.detach().unique().tolist()) == {0.0, 1.0}
    weights = torch.randn(4)
    (sample * weights).sum().backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0
    # The draws follow softmax(logits): frequencies close to the probabilities.
    fixed = torch.tensor([[2.0, 0.0, -1.0, 1.0]]).repeat(20000, 1)
    counts = gumbel_softmax_straight_through(fixed, 1.0, g).detach().mean(0)
    torch.testing.assert_close(counts, torch.softmax(fixed[0], -1), atol=0.015, rtol=0)
    mask = torch.tensor([[1, 0, 1, 0]]).repeat(20000, 1)
    masked = gumbel_softmax_straight_through(fixed, 1.0, g, mask).detach()
    assert float(masked[:, 1].sum() + masked[:, 3].sum()) == 0.0


def test_polyak_update():
    online, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = [p.detach().clone() for p in target.parameters()]
    polyak_update(target, online, 0.25)
    for t, o, b in zip(target.parameters(), online.parameters(), before, strict=True):
        torch.testing.assert_close(t, 0.25 * o + 0.75 * b)
    polyak_update(target, online, 1.0)
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        assert torch.equal(t, o)
