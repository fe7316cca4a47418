"""PPO's math, apart from any learner or actor: GAE(lambda), the clipped surrogate, the
(optionally clipped) value loss, running return statistics and piecewise-linear schedules.

Time-major notation as in `returns.py`: `T` steps of `B` rows; at step t a row either
terminated (nothing follows: bootstrap 0), was truncated (a time limit cut it: bootstrap from
V(x_t), the value of the state it reached), or continued into s_{t+1}. Rows whose `mask` is
false (absent agents, padding) enter no loss; the sampler records them as terminated, so no
recursion reads across them.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class GaeTargets(NamedTuple):
    advantages: torch.Tensor
    """`[T, B]` GAE(lambda) advantages."""
    returns: torch.Tensor
    """`[T, B]` advantages + V(s_t): the value targets (lambda-returns)."""


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    truncation_values: torch.Tensor,
    gamma: float,
    lam: float,
) -> GaeTargets:
    """delta_t = r_t + gamma * next_t - V(s_t), where next_t is 0 (terminated), V(x_t)
    (truncated) or V(s_{t+1}) (continued; V(s_T) = `bootstrap_value` after the last step);
    A_t = delta_t + gamma * lambda * A_{t+1}, the sum restarting (A_{t+1} taken as 0) wherever
    step t ended its episode.

    Shapes: rewards, values, terminated, truncated, truncation_values `[T, B]`;
    bootstrap_value `[B]`."""
    terminated = terminated.bool()
    truncated = truncated.bool() & ~terminated
    ended = terminated | truncated
    next_values = torch.cat([values[1:], bootstrap_value[None]], dim=0)
    next_values = torch.where(ended, torch.zeros_like(values), next_values)
    next_values = torch.where(truncated, truncation_values, next_values)
    deltas = rewards + gamma * next_values - values
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(bootstrap_value)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * lam * torch.where(ended[t], 0.0, running)
        advantages[t] = running
    return GaeTargets(advantages, advantages + values)


def clipped_surrogate(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip: float,
    proximal_log_probs: torch.Tensor | None = None,
) -> torch.Tensor:
    """-mean(min(rho A, clip(rho, 1 - clip, 1 + clip) A)), rho = exp(log pi - log pi_old),
    over the rows given (callers pass the present rows only).

    `old_log_probs` are the behaviour policy's (the one that sampled). With
    `proximal_log_probs` (a newer policy's, for stale batches), the decoupled objective of
    Hilton, Cobbe & Schulman (2021): -mean(w min(r A, clip(r, 1 - clip, 1 + clip) A)) with
    r = pi / pi_prox (the clip bounds the step from the proximal policy) and
    w = pi_prox / pi_old (the off-policy correction); without it, pi_prox = pi_old."""
    proximal = old_log_probs if proximal_log_probs is None else proximal_log_probs
    ratio = (log_probs - proximal).exp()
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages
    surrogate = torch.min(unclipped, clipped)
    if proximal_log_probs is not None:
        surrogate = (proximal_log_probs - old_log_probs).exp() * surrogate
    return -surrogate.mean()


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    targets: torch.Tensor,
    clip: float | None,
) -> torch.Tensor:
    """0.5 * mean((V - target)^2); with `clip`, 0.5 * mean(max((V - target)^2,
    (V_old + clip(V - V_old, -clip, clip) - target)^2)) (PPO2's value clipping)."""
    squared = (values - targets).pow(2)
    if clip is not None:
        clipped = old_values + (values - old_values).clamp(-clip, clip)
        squared = torch.max(squared, (clipped - targets).pow(2))
    return 0.5 * squared.mean()


def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(A - mean A) / (std A + eps) over one minibatch (population std)."""
    if advantages.numel() < 2:
        return advantages - advantages.mean()
    return (advantages - advantages.mean()) / (advantages.std(unbiased=False) + eps)


class RunningMeanStd:
    """Mean and variance of every value seen, merged batch by batch (Chan et al.'s parallel
    update), so the critic can learn returns of any scale as (G - mean) / std."""

    def __init__(self, eps: float = 1e-4):
        self.mean = 0.0
        self.var = 1.0
        self.count = eps

    @property
    def std(self) -> float:
        return max(self.var, 1e-8) ** 0.5

    def update(self, x: torch.Tensor) -> None:
        if x.numel() == 0:
            return
        x = x.detach().double()
        n, mean, var = x.numel(), float(x.mean()), float(x.var(unbiased=False))
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean

    def state_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.mean, self.var, self.count = (float(state[k]) for k in ("mean", "var", "count"))


def piecewise_linear(points: list[tuple[float, float]], t: float) -> float:
    """The value at `t` of the line through `points` ((t_i, v_i), t_i increasing); constant
    before the first point and after the last."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]
