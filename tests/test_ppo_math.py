"""PPO's math against slow, literal versions of each formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marl_ray.algorithms.core.ppo_math import (
    RunningMeanStd,
    clipped_surrogate,
    gae,
    normalize_advantages,
    piecewise_linear,
    value_loss,
)


def literal_gae(rewards, values, bootstrap, terminated, truncated, trunc_values, gamma, lam):
    """A_t = sum_l (gamma lambda)^l delta_{t+l} over the rest of the episode, one row and one
    step at a time, with delta as written in the paper plus the termination/truncation cases."""
    T, B = rewards.shape
    adv = np.zeros((T, B))
    for b in range(B):
        for t in range(T):
            total, weight = 0.0, 1.0
            for k in range(t, T):
                if terminated[k, b]:
                    next_value = 0.0
                elif truncated[k, b]:
                    next_value = trunc_values[k, b]
                elif k == T - 1:
                    next_value = bootstrap[b]
                else:
                    next_value = values[k + 1, b]
                delta = rewards[k, b] + gamma * next_value - values[k, b]
                total += weight * delta
                if terminated[k, b] or truncated[k, b]:
                    break
                weight *= gamma * lam
            adv[t, b] = total
    return adv


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (17, 8), (40, 2)])
@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (0.5, 0.0)])
def test_gae_matches_the_literal_sum(shape, gamma, lam):
    rng = np.random.default_rng(sum(shape))
    T, B = shape
    rewards, values = rng.normal(size=shape), rng.normal(size=shape)
    bootstrap, trunc_values = rng.normal(size=B), rng.normal(size=shape)
    terminated = rng.random(shape) < 0.15
    truncated = rng.random(shape) < 0.1  # some rows both: termination wins
    expected = literal_gae(
        rewards, values, bootstrap, terminated, truncated, trunc_values, gamma, lam
    )
    t = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    out = gae(
        t(rewards),
        t(values),
        t(bootstrap),
        torch.as_tensor(terminated),
        torch.as_tensor(truncated),
        t(trunc_values),
        gamma,
        lam,
    )
    np.testing.assert_allclose(out.advantages.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.returns.numpy(), expected + values, rtol=1e-12, atol=1e-12)


def test_gae_ignores_what_masked_rows_hold():
    """Absent-agent rows are recorded as terminated; garbage in them changes no present row."""
    rng = np.random.default_rng(0)
    T, B = 12, 4
    mask = torch.as_tensor(rng.random((T, B)) < 0.7)
    terminated = torch.as_tensor(rng.random((T, B)) < 0.1) | ~mask
    terminated[:-1] |= mask[:-1] & ~mask[1:]  # a present row followed by an absent one left
    truncated = torch.zeros(T, B, dtype=torch.bool)
    rewards, values, bootstrap = torch.randn(T, B), torch.randn(T, B), torch.randn(B)

    def advantages(r, v):
        return gae(r, v, bootstrap, terminated, truncated, torch.zeros(T, B), 0.99, 0.9)

    clean = advantages(rewards, values)
    garbage = advantages(
        torch.where(mask, rewards, torch.randn(T, B) * 1e3),
        torch.where(mask, values, torch.randn(T, B) * 1e3),
    )
    torch.testing.assert_close(garbage.advantages[mask], clean.advantages[mask])
    torch.testing.assert_close(garbage.returns[mask], clean.returns[mask])


def literal_clipped_surrogate(logp, old_logp, adv, clip):
    terms = []
    for lp, olp, a in zip(logp.ravel(), old_logp.ravel(), adv.ravel(), strict=True):
        ratio = np.exp(lp - olp)
        terms.append(min(ratio * a, min(max(ratio, 1 - clip), 1 + clip) * a))
    return -np.mean(terms)


@pytest.mark.parametrize("shape", [(1,), (7,), (5, 6)])
@pytest.mark.parametrize("clip", [0.1, 0.2, 0.3])
def test_clipped_surrogate_matches_the_literal_formula(shape, clip):
    rng = np.random.default_rng(len(shape) * 10 + int(clip * 10))
    logp, old_logp, adv = (rng.normal(scale=0.5, size=shape) for _ in range(3))
    out = clipped_surrogate(*(torch.as_tensor(x) for x in (logp, old_logp, adv)), clip)
    assert float(out) == pytest.approx(literal_clipped_surrogate(logp, old_logp, adv, clip))


def literal_decoupled_surrogate(logp, prox_logp, behaviour_logp, adv, clip):
    """Hilton et al. (2021), eq. for L^CLIP decoupled: the behaviour policy corrects by
    importance sampling, the proximal policy bounds the step."""
    terms = []
    rows = (x.ravel() for x in (logp, prox_logp, behaviour_logp, adv))
    for lp, px, bh, a in zip(*rows, strict=True):
        weight = np.exp(px) / np.exp(bh)
        ratio = np.exp(lp) / np.exp(px)
        terms.append(weight * min(ratio * a, min(max(ratio, 1 - clip), 1 + clip) * a))
    return -np.mean(terms)


@pytest.mark.parametrize("shape", [(1,), (7,), (5, 6)])
@pytest.mark.parametrize("clip", [0.1, 0.3])
def test_decoupled_surrogate_matches_the_literal_formula(shape, clip):
    rng = np.random.default_rng(len(shape) * 10 + int(clip * 10) + 1)
    logp, prox, behaviour, adv = (rng.normal(scale=0.5, size=shape) for _ in range(4))
    out = clipped_surrogate(
        *(torch.as_tensor(x) for x in (logp, behaviour, adv)),
        clip,
        proximal_log_probs=torch.as_tensor(prox),
    )
    expected = literal_decoupled_surrogate(logp, prox, behaviour, adv, clip)
    assert float(out) == pytest.approx(expected)
    same = clipped_surrogate(*(torch.as_tensor(x) for x in (logp, behaviour, adv)), clip)
    as_behaviour = clipped_surrogate(
        *(torch.as_tensor(x) for x in (logp, behaviour, adv)),
        clip,
        proximal_log_probs=torch.as_tensor(behaviour),
    )
    assert float(same) == pytest.approx(float(as_behaviour))  # pi_prox = pi_old: plain PPO


def test_decoupled_surrogate_clips_around_the_proximal_policy():
    behaviour = torch.zeros(2)
    proximal = torch.log(torch.tensor([1.5, 0.5]))  # the last update moved far from pi_old
    logp = proximal.clone().requires_grad_()  # pi = pi_prox: inside the clip, full gradient
    clipped_surrogate(logp, behaviour, torch.tensor([1.0, -1.0]), 0.2, proximal).backward()
    torch.testing.assert_close(logp.grad, torch.tensor([-1.5, 0.5]) / 2)
    plain = proximal.clone().requires_grad_()  # plain PPO: both rows beyond the clip
    clipped_surrogate(plain, behaviour, torch.tensor([1.0, -1.0]), 0.2).backward()
    assert torch.equal(plain.grad, torch.zeros(2))


def test_clipped_surrogate_has_no_gradient_beyond_the_clip_in_the_advantage_direction():
    old = torch.zeros(2)
    logp = torch.log(torch.tensor([1.5, 0.5])).requires_grad_()  # ratios 1.5 and 0.5
    clipped_surrogate(logp, old, torch.tensor([1.0, -1.0]), 0.2).backward()
    assert torch.equal(logp.grad, torch.zeros(2))


def literal_value_loss(v, old_v, target, clip):
    terms = []
    for x, o, g in zip(v.ravel(), old_v.ravel(), target.ravel(), strict=True):
        err = (x - g) ** 2
        if clip is not None:
            err = max(err, (o + min(max(x - o, -clip), clip) - g) ** 2)
        terms.append(err)
    return 0.5 * np.mean(terms)


@pytest.mark.parametrize("clip", [None, 0.2, 1.0])
def test_value_loss_matches_the_literal_formula(clip):
    rng = np.random.default_rng(3)
    v, old_v, target = (rng.normal(size=(6, 4)) for _ in range(3))
    out = value_loss(*(torch.as_tensor(x) for x in (v, old_v, target)), clip)
    assert float(out) == pytest.approx(literal_value_loss(v, old_v, target, clip))


def test_normalize_advantages_is_zero_mean_unit_std():
    x = torch.randn(100, dtype=torch.float64) * 5 + 3
    y = normalize_advantages(x)
    assert float(y.mean()) == pytest.approx(0.0, abs=1e-9)
    assert float(y.std(unbiased=False)) == pytest.approx(1.0, abs=1e-6)


def test_running_mean_std_equals_the_statistics_of_everything_seen():
    rng = np.random.default_rng(4)
    stats, seen = RunningMeanStd(eps=0.0), []
    for size in (5, 1, 30, 7):
        batch = rng.normal(loc=10, scale=3, size=size)
        seen.extend(batch)
        stats.update(torch.as_tensor(batch))
    assert stats.mean == pytest.approx(np.mean(seen))
    assert stats.var == pytest.approx(np.var(seen))
    x = torch.tensor([1.0, 12.0])
    torch.testing.assert_close(stats.denormalize(stats.normalize(x)), x)
    copy = RunningMeanStd()
    copy.load_state_dict(stats.state_dict())
    assert copy.state_dict() == stats.state_dict()


def test_piecewise_linear():
    points = [(0.0, 1.0), (10.0, 0.0), (20.0, 0.5)]
    assert [piecewise_linear(points, t) for t in (-5, 0, 5, 10, 15, 20, 99)] == [
        1.0,
        1.0,
        0.5,
        0.0,
        0.25,
        0.5,
        0.5,
    ]
