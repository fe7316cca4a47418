"""n-step returns against a literal, loop-per-element reading of the formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl_ray.algorithms.core.returns import n_step_returns


def literal_returns(rewards, values, bootstrap, terminated, truncated, trunc_values, gamma):
    """R_t = sum_k gamma^k r_{t+k} up to the first episode end or the rollout end, then
    gamma^n times 0 (terminated), V(x) (truncated) or V(s_T) (rollout end)."""
    T, B = rewards.shape
    out = np.zeros((T, B))
    for b in range(B):
        for t in range(T):
            total, discount = 0.0, 1.0
            for k in range(t, T):
                total += discount * rewards[k, b]
                discount *= gamma
                if terminated[k, b]:
                    break
                if truncated[k, b]:
                    total += discount * trunc_values[k, b]
                    break
            else:
                total += discount * bootstrap[b]
            out[t, b] = total
    return out


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (20, 8), (7, 1)])
@pytest.mark.parametrize("gamma", [0.0, 0.9, 0.99, 1.0])
def test_matches_the_literal_formula(shape, gamma):
    rng = np.random.default_rng(hash((shape, gamma)) % 2**32)
    T, B = shape
    rewards = rng.normal(size=shape)
    values = rng.normal(size=shape)
    bootstrap = rng.normal(size=B)
    terminated = rng.random(shape) < 0.15
    truncated = rng.random(shape) < 0.15  # some steps both: terminated wins
    trunc_values = rng.normal(size=shape)
    t = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    got = n_step_returns(
        t(rewards),
        t(values),
        t(bootstrap),
        torch.as_tensor(terminated),
        torch.as_tensor(truncated),
        t(trunc_values),
        gamma,
    )
    want = literal_returns(rewards, values, bootstrap, terminated, truncated, trunc_values, gamma)
    np.testing.assert_allclose(got.returns.numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.advantages.numpy(), want - values, rtol=1e-12, atol=1e-12)


def test_termination_does_not_bootstrap_and_truncation_does():
    rewards = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    zeros = torch.zeros(2, 2, dtype=torch.bool)
    ended = torch.tensor([[True, True], [False, False]])
    trunc_values = torch.full((2, 2), 5.0)
    bootstrap = torch.full((2,), 100.0)
    term = n_step_returns(rewards, torch.zeros(2, 2), bootstrap, ended, zeros, trunc_values, 0.5)
    assert term.returns[0].tolist() == [1.0, 1.0]  # nothing after a terminal state
    trunc = n_step_returns(rewards, torch.zeros(2, 2), bootstrap, zeros, ended, trunc_values, 0.5)
    assert trunc.returns[0].tolist() == [3.5, 3.5]  # 1 + 0.5 * V(x) = 1 + 2.5
    assert trunc.returns[1].tolist() == [51.0, 51.0]  # rollout end: 1 + 0.5 * 100
