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


class PolicyValueLoss(NamedTuple):
    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    l2: torch.Tensor


def policy_value_loss(
    logits: torch.Tensor,
    values: torch.Tensor,
    target_policy: torch.Tensor,
    target_value: torch.Tensor,
    parameters: list[torch.Tensor],
    *,
    l2_coef: float,
) -> PolicyValueLoss:
    """AlphaZero's loss over a batch of B positions with A actions:
    policy = mean_b -sum_a pi(a) log softmax(logits)(a) (cross-entropy with the search's visit
    distribution pi [B, A]), value = mean_b (z - v)^2 (z [B] the game result for the player to
    move, v [B] the value head), l2 = l2_coef * sum of squared `parameters`;
    total = policy + value + l2."""
    policy = -(target_policy * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
    value = (target_value - values).pow(2).mean()
    l2 = l2_coef * sum(p.pow(2).sum() for p in parameters)
    return PolicyValueLoss(policy + value + l2, policy, value, l2)
