"""V-trace against hand-computed values, a literal reading of the paper, and the on-policy
property."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl_ray.algorithms.core.returns import n_step_returns
from marl_ray.algorithms.core.vtrace import vtrace


def literal_vtrace(log_mu, log_pi, r, v, boot, disc, rho_bar, c_bar, pg_bar):
    """v_s = V(x_s) + sum_{t>=s} (prod_{i=s}^{t-1} gamma_i c_i) delta_t, as in the paper."""
    T, B = r.shape
    ratio = np.exp(log_pi - log_mu)
    rho, c, pg = np.minimum(rho_bar, ratio), np.minimum(c_bar, ratio), np.minimum(pg_bar, ratio)
    v_next = np.concatenate([v[1:], boot[None]], 0)
    delta = rho * (r + disc * v_next - v)
    vs = np.zeros((T, B))
    for b in range(B):
        for s in range(T):
            total, weight = 0.0, 1.0
            for t in range(s, T):
                total += weight * delta[t, b]
                weight *= disc[t, b] * c[t, b]
            vs[s, b] = v[s, b] + total
    vs_next = np.concatenate([vs[1:], boot[None]], 0)
    return vs, pg * (r + disc * vs_next - v)


def _random_case(shape, seed):
    rng = np.random.default_rng(seed)
    T, B = shape
    return dict(
        log_mu=np.log(rng.uniform(0.05, 1, shape)),
        log_pi=np.log(rng.uniform(0.05, 1, shape)),
        r=rng.normal(size=shape),
        v=rng.normal(size=shape),
        boot=rng.normal(size=B),
        disc=0.9 * (rng.random(shape) > 0.2),
    )


def _run(case, **clips):
    t = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    return vtrace(
        t(case["log_mu"]),
        t(case["log_pi"]),
        t(case["r"]),
        t(case["v"]),
        t(case["boot"]),
        t(case["disc"]),
        **clips,
    )


@pytest.mark.parametrize("shape", [(1, 1), (6, 3), (25, 4)])
@pytest.mark.parametrize("clips", [(1.0, 1.0, 1.0), (2.0, 0.5, 1.5), (None, None, None)])
def test_matches_the_literal_formula(shape, clips):
    case = _random_case(shape, seed=sum(shape))
    rho_bar, c_bar, pg_bar = clips
    got = _run(
        case, clip_rho_threshold=rho_bar, clip_c_threshold=c_bar, clip_pg_rho_threshold=pg_bar
    )
    inf = np.inf
    want_vs, want_pg = literal_vtrace(
        case["log_mu"],
        case["log_pi"],
        case["r"],
        case["v"],
        case["boot"],
        case["disc"],
        rho_bar or inf,
        c_bar or inf,
        pg_bar or inf,
    )
    np.testing.assert_allclose(got.vs.numpy(), want_vs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got.pg_advantages.numpy(), want_pg, rtol=1e-10, atol=1e-10)


def test_hand_computed_two_steps():
    # T=2, B=1; pi/mu = 2 at t=0 (clipped to 1), 0.5 at t=1. gamma 0.5, no termination.
    log_mu = torch.log(torch.tensor([[0.25], [0.5]]))
    log_pi = torch.log(torch.tensor([[0.5], [0.25]]))
    r = torch.tensor([[1.0], [2.0]])
    v = torch.tensor([[0.5], [1.0]])
    boot = torch.tensor([4.0])
    disc = torch.full((2, 1), 0.5)
    out = vtrace(log_mu, log_pi, r, v, boot, disc)
    # delta_1 = 0.5 * (2 + 0.5*4 - 1) = 1.5; v_1 = 1 + 1.5 = 2.5
    # delta_0 = 1 * (1 + 0.5*1 - 0.5) = 1; v_0 = 0.5 + 1 + 0.5*1*(2.5 - 1) = 2.25
    assert out.vs[:, 0].tolist() == pytest.approx([2.25, 2.5])
    # pg_0 = 1 * (1 + 0.5*2.5 - 0.5) = 1.75; pg_1 = 0.5 * (2 + 0.5*4 - 1) = 1.5
    assert out.pg_advantages[:, 0].tolist() == pytest.approx([1.75, 1.5])


@pytest.mark.parametrize("seed", range(4))
def test_on_policy_vs_equals_the_n_step_return(seed):
    """All ratios 1 and no clipping: v_t is the n-step bootstrapped return, truncations too."""
    rng = np.random.default_rng(seed)
    T, B, gamma = 12, 5, 0.95
    log_p = torch.as_tensor(np.log(rng.uniform(0.1, 1, (T, B))))
    r = torch.as_tensor(rng.normal(size=(T, B)))
    v = torch.as_tensor(rng.normal(size=(T, B)))
    boot = torch.as_tensor(rng.normal(size=B))
    terminated = torch.as_tensor(rng.random((T, B)) < 0.1)
    truncated = torch.as_tensor(rng.random((T, B)) < 0.1) & ~terminated
    trunc_v = torch.as_tensor(rng.normal(size=(T, B)))
    out = vtrace(
        log_p,
        log_p,
        r,
        v,
        boot,
        gamma * (~terminated).double(),
        truncated=truncated,
        truncation_values=trunc_v,
        clip_rho_threshold=None,
        clip_c_threshold=None,
        clip_pg_rho_threshold=None,
    )
    want = n_step_returns(r, v, boot, terminated, truncated, trunc_v, gamma)
    np.testing.assert_allclose(out.vs.numpy(), want.returns.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out.pg_advantages.numpy(), want.advantages.numpy(), atol=1e-10)
