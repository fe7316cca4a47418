"""Actor-critic loss terms, apart from any learner or actor."""

from __future__ import annotations

from typing import NamedTuple

import torch


class ActorCriticLoss(NamedTuple):
    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor


def actor_critic_loss(
    log_probs: torch.Tensor,
    entropy: torch.Tensor,
    values: torch.Tensor,
    value_targets: torch.Tensor,
    advantages: torch.Tensor,
    *,
    value_coef: float,
    entropy_coef: float,
) -> ActorCriticLoss:
    """policy = -mean(log pi(a|s) * A), value = mean((target - V)^2), entropy = mean(H);
    total = policy + value_coef * value - entropy_coef * entropy. Targets and advantages
    are treated as constants. All inputs share one shape (e.g. `[T, B]`)."""
    policy = -(log_probs * advantages.detach()).mean()
    value = (value_targets.detach() - values).pow(2).mean()
    mean_entropy = entropy.mean()
    total = policy + value_coef * value - entropy_coef * mean_entropy
    return ActorCriticLoss(total, policy, value, mean_entropy)
