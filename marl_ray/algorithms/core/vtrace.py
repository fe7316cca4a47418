"""V-trace off-policy targets (Espeholt et al. 2018, IMPALA), time-major.

Notation: `T` steps of `B` rows. The behaviour policy mu took action a_t in state x_t; pi is
the learner's (target) policy; V the learner's critic.

    rho_t = min(rho_bar, pi(a_t|x_t) / mu(a_t|x_t))        c_t = min(c_bar, pi/mu)
    delta_t = rho_t * (r_t + gamma_t * V(x_{t+1}) - V(x_t))
    v_t = V(x_t) + delta_t + gamma_t * c_t * (v_{t+1} - V(x_{t+1})),   v_T = V(x_T) (bootstrap)
    pg advantage_t = min(rho_pg_bar, pi/mu) * (r_t + gamma_t * v_{t+1} - V(x_t))

gamma_t is the discount of step t: 0 where the episode terminated. A step whose episode was
truncated by a time limit instead bootstraps from the value of the state it reached,
V(x'_t) (`truncation_values`), and its recursion stops there: v_{t+1} is then V(x'_t).
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class VTraceReturns(NamedTuple):
    vs: torch.Tensor
    """`[T, B]` v_t, the value targets."""
    pg_advantages: torch.Tensor
    """`[T, B]` rho_pg_t * (r_t + gamma_t * v_{t+1} - V(x_t))."""


@torch.no_grad()
def vtrace(
    behaviour_log_probs: torch.Tensor,
    target_log_probs: torch.Tensor,
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    discounts: torch.Tensor,
    *,
    truncated: torch.Tensor | None = None,
    truncation_values: torch.Tensor | None = None,
    clip_rho_threshold: float | None = 1.0,
    clip_c_threshold: float | None = 1.0,
    clip_pg_rho_threshold: float | None = 1.0,
) -> VTraceReturns:
    """V-trace targets; see the module docstring for the formulas.

    Args:
        behaviour_log_probs: `[T, B]` log mu(a_t|x_t).
        target_log_probs: `[T, B]` log pi(a_t|x_t).
        rewards: `[T, B]` r_t.
        values: `[T, B]` V(x_t).
        bootstrap_value: `[B]` V(x_T).
        discounts: `[T, B]` gamma_t (0 where the episode terminated at step t).
        truncated: optional `[T, B]` bool, the episode was cut by a time limit at step t.
        truncation_values: `[T, B]` V(x'_t) of the state a truncated step reached.
        clip_rho_threshold, clip_c_threshold, clip_pg_rho_threshold: rho_bar, c_bar and
            rho_pg_bar; None disables a clip.
    """
    log_rhos = target_log_probs - behaviour_log_probs
    rhos = log_rhos.exp()
    clipped_rhos = rhos if clip_rho_threshold is None else rhos.clamp(max=clip_rho_threshold)
    cs = rhos if clip_c_threshold is None else rhos.clamp(max=clip_c_threshold)
    next_values = torch.cat([values[1:], bootstrap_value[None]], dim=0)
    continues = torch.ones_like(values)
    if truncated is not None:
        cut = truncated.bool()
        next_values = torch.where(cut, truncation_values, next_values)
        continues = (~cut).to(values.dtype)
    deltas = clipped_rhos * (rewards + discounts * next_values - values)
    # (v_t - V(x_t)) = delta_t + gamma_t c_t (v_{t+1} - V(x_{t+1})), cut at truncations.
    corrections = torch.empty_like(values)
    acc = torch.zeros_like(bootstrap_value)
    for t in range(values.shape[0] - 1, -1, -1):
        acc = deltas[t] + discounts[t] * cs[t] * continues[t] * acc
        corrections[t] = acc
    vs = values + corrections
    # v_{t+1}: the next target, or the bootstrap where the rollout or a truncation ends.
    vs_next = torch.cat([vs[1:], bootstrap_value[None]], dim=0)
    if truncated is not None:
        vs_next = torch.where(cut, truncation_values, vs_next)
    pg_rhos = rhos if clip_pg_rho_threshold is None else rhos.clamp(max=clip_pg_rho_threshold)
    pg_advantages = pg_rhos * (rewards + discounts * vs_next - values)
    return VTraceReturns(vs, pg_advantages)
