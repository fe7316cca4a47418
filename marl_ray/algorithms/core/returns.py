"""n-step bootstrapped returns and advantages over a rollout, time-major.

Notation: a rollout has `T` steps of `B` parallel rows (env copies x agents). At step t the
row took an action in state s_t, received r_t and then either
- terminated: the episode ended in a terminal state, nothing follows (bootstrap 0);
- truncated: a time limit cut the episode; the state it reached, x_t, still has value V(x_t);
- continued: the next row state is s_{t+1}.
A copy that ended was reset, so s_{t+1} belongs to a new episode and must not leak back.

    R_t = r_t + gamma * ( 0           if terminated_t
                          V(x_t)      if truncated_t
                          R_{t+1}     otherwise ),        R_T = V(s_T)  (bootstrap_value)
    A_t = R_t - V(s_t)
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class NStepTargets(NamedTuple):
    returns: torch.Tensor
    """`[T, B]` n-step bootstrapped returns R_t (value targets)."""
    advantages: torch.Tensor
    """`[T, B]` R_t - V(s_t) (policy-gradient weights)."""


def n_step_returns(
    rewards: torch.Tensor,
    values: torch.Tensor,
    bootstrap_value: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    truncation_values: torch.Tensor,
    gamma: float,
) -> NStepTargets:
    """Computes `NStepTargets` (see the module docstring).

    Args:
        rewards: `[T, B]` r_t.
        values: `[T, B]` V(s_t), the critic on the states acted in.
        bootstrap_value: `[B]` V(s_T), the critic on the state after the last step.
        terminated: `[T, B]` bool.
        truncated: `[T, B]` bool (ignored where `terminated`).
        truncation_values: `[T, B]` V(x_t) on the final state of truncated episodes; read
            only where `truncated` and not `terminated`.
        gamma: discount factor.
    """
    terminated = terminated.bool()
    truncated = truncated.bool() & ~terminated
    # What each step bootstraps from when its episode was cut: 0 or V(x_t).
    cut_value = torch.where(truncated, truncation_values, torch.zeros_like(rewards))
    cut = terminated | truncated
    returns = torch.empty_like(rewards)
    next_return = bootstrap_value
    for t in range(rewards.shape[0] - 1, -1, -1):
        next_return = rewards[t] + gamma * torch.where(cut[t], cut_value[t], next_return)
        returns[t] = next_return
    return NStepTargets(returns, returns - values)
