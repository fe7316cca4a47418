"""The math of value-based and off-policy multi-agent learning, apart from any learner:
n-step double-Q targets with termination vs truncation, the VDN sum, QMIX's monotonic mixer,
MADDPG's critic target and the straight-through Gumbel-softmax.

Time-major notation: `T` steps of `B` rows. At step t a row received r_t and then either
terminated (nothing follows), was truncated (a time limit cut it; the state it reached still
has a value), or continued. `next_values[t]` is the value of the state step t reached (the
final state where it was truncated), typically the target network's double-Q estimate.
"""

from __future__ import annotations

import torch
from torch import nn


def double_q_values(
    online_next_q: torch.Tensor,
    target_next_q: torch.Tensor,
    action_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Q_target(s', argmax_a Q_online(s', a)) over the last axis (actions); masked actions
    (mask 0) are never the argmax."""
    if action_mask is not None:
        online_next_q = online_next_q.masked_fill(action_mask <= 0, float("-inf"))
    best = online_next_q.argmax(dim=-1, keepdim=True)
    return target_next_q.gather(-1, best).squeeze(-1)


def n_step_targets(
    rewards: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    gamma: float,
    n: int,
) -> torch.Tensor:
    """y_t = sum_{k<m} gamma^k r_{t+k} + gamma^m * bootstrap, where the m <= n steps stop
    early at the end of the episode or of the sequence; bootstrap = 0 if step t+m-1
    terminated, otherwise next_values[t+m-1] (the state it reached, final state included).

    Shapes: rewards, next_values, terminated, truncated `[T, B]`; returns `[T, B]`."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    T = rewards.shape[0]
    terminated = terminated.bool()
    ended = terminated | truncated.bool()
    targets = torch.empty_like(rewards)
    for t in range(T):
        total = torch.zeros_like(rewards[0])
        discount = torch.ones_like(rewards[0])
        running = torch.ones_like(rewards[0], dtype=torch.bool)  # rows still inside the window
        bootstrap = torch.zeros_like(rewards[0])
        for k in range(min(n, T - t)):
            step = t + k
            total = total + torch.where(running, discount * rewards[step], 0.0)
            discount = torch.where(running, discount * gamma, discount)
            last = running & (ended[step] | (k == min(n, T - t) - 1))
            value = torch.where(terminated[step], 0.0, next_values[step])
            bootstrap = torch.where(last, discount * value, bootstrap)
            running = running & ~ended[step]
        targets[t] = total + bootstrap
    return targets


def vdn_mix(chosen_q: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
    """Q_tot = sum over agents (last axis) of each agent's chosen Q; absent agents add 0."""
    if present is not None:
        chosen_q = torch.where(present, chosen_q, 0.0)
    return chosen_q.sum(dim=-1)


class QMixer(nn.Module):
    """QMIX's monotonic mixing network (Rashid et al. 2018): Q_tot(q, s) =
    w2(s)^T ELU(W1(s)^T q + b1(s)) + b2(s), where hypernetworks on the global state give
    W1 `[N, E]` and w2 `[E]` (absolute values: dQ_tot/dq_a >= 0), b1 `[E]` (linear) and b2
    (two layers, ReLU). Absent agents' Q values are zeroed before mixing."""

    def __init__(self, num_agents: int, state_size: int, embed: int = 32, hyper_hidden: int = 64):
        super().__init__()
        self.num_agents, self.embed = num_agents, embed
        self.hyper_w1 = nn.Sequential(
            nn.Linear(state_size, hyper_hidden),
            nn.ReLU(),
            nn.Linear(hyper_hidden, num_agents * embed),
        )
        self.hyper_b1 = nn.Linear(state_size, embed)
        self.hyper_w2 = nn.Sequential(
            nn.Linear(state_size, hyper_hidden), nn.ReLU(), nn.Linear(hyper_hidden, embed)
        )
        self.hyper_b2 = nn.Sequential(nn.Linear(state_size, embed), nn.ReLU(), nn.Linear(embed, 1))

    def forward(
        self, chosen_q: torch.Tensor, state: torch.Tensor, present: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`chosen_q` `[..., N]`, `state` `[..., S]` -> Q_tot `[...]`."""
        if present is not None:
            chosen_q = torch.where(present, chosen_q, 0.0)
        lead = chosen_q.shape[:-1]
        w1 = self.hyper_w1(state).abs().reshape(*lead, self.num_agents, self.embed)
        b1 = self.hyper_b1(state)
        hidden = nn.functional.elu((chosen_q.unsqueeze(-2) @ w1).squeeze(-2) + b1)
        w2 = self.hyper_w2(state).abs()
        return (hidden * w2).sum(-1) + self.hyper_b2(state).squeeze(-1)


def maddpg_critic_target(
    rewards: torch.Tensor,
    target_q_next: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """y = r + gamma * (1 - terminated) * Q'_i(x', mu'_1(o'_1), ..., mu'_N(o'_N)), where
    `target_q_next` is that target critic's value (truncated steps keep their bootstrap)."""
    return rewards + gamma * (~terminated.bool()).float() * target_q_next


def gumbel_softmax_straight_through(
    logits: torch.Tensor,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    action_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """A one-hot sample of softmax((logits + g) / temperature), g ~ Gumbel(0, 1), whose
    gradient is the soft sample's (straight-through: y_hard - stop_grad(y_soft) + y_soft).
    Masked actions (mask 0) are never drawn."""
    if action_mask is not None:
        logits = logits.masked_fill(action_mask <= 0, torch.finfo(logits.dtype).min)
    uniform = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0)) + 1e-20)
    soft = torch.softmax((logits + gumbel) / temperature, dim=-1)
    hard = nn.functional.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def polyak_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """target <- tau * online + (1 - tau) * target, parameter by parameter (tau = 1: copy)."""
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters(), strict=True):
            t.mul_(1.0 - tau).add_(o, alpha=tau)
