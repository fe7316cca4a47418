"""An A3C worker without Ray: roll out n steps on given weights, return the gradients."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.core.losses import actor_critic_loss
from marl_ray.algorithms.core.returns import n_step_returns
from marl_ray.algorithms.core.rollout import EpisodeStats, Rollout, RolloutWorker


class GradientResult(NamedTuple):
    version: int  # weights version the gradients were computed on
    env_steps: int
    episodes: list[EpisodeStats]
    losses: dict[str, float]


class A3CWorker:
    def __init__(self, config: A3CConfig, worker_index: int):
        self.config = config
        seed = config.seed * 10_007 + worker_index
        self.rollouts = RolloutWorker(
            config.env, config.env_config, config.num_envs_per_worker, config.network, seed
        )
        self.net = self.rollouts.net

    def compute_gradients(
        self, weights: tuple[int, dict[str, np.ndarray]]
    ) -> tuple[list[np.ndarray], GradientResult]:
        version, state = weights
        self.rollouts.set_weights(state)
        steps_before = self.rollouts.env_steps
        rollout = self.rollouts.rollout(self.config.rollout_length)
        self.net.zero_grad(set_to_none=True)
        losses = a3c_loss(self.net, rollout, self.config)
        losses.total.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        grads = [p.grad.numpy().copy() for p in self.net.parameters()]
        result = GradientResult(
            version,
            self.rollouts.env_steps - steps_before,
            self.rollouts.tracker.drain(),
            {k: float(v.detach()) for k, v in losses._asdict().items()},
        )
        return grads, result


def a3c_loss(net, rollout: Rollout, config: A3CConfig):
    """n-step advantage actor-critic loss on one rollout (time-major `[T, B]`)."""
    T, B = rollout.rewards.shape
    flat_obs = rollout.obs.reshape(T * B, *rollout.obs.shape[2:])
    params, values = net(flat_obs)
    dist = net.distribution(params)
    actions = rollout.actions.reshape(T * B, *rollout.actions.shape[2:])
    log_probs = dist.log_prob(actions).reshape(T, B)
    entropy = dist.entropy().reshape(T, B)
    values = values.reshape(T, B)
    with torch.no_grad():
        bootstrap = net.value(rollout.bootstrap_obs)
        truncation_values = torch.zeros(T, B)
        cut = rollout.truncated & ~rollout.terminated
        if cut.any():
            truncation_values[cut] = net.value(rollout.final_obs[cut])
    targets = n_step_returns(
        rollout.rewards,
        values.detach(),
        bootstrap,
        rollout.terminated,
        rollout.truncated,
        truncation_values,
        config.gamma,
    )
    return actor_critic_loss(
        log_probs,
        entropy,
        values,
        targets.returns,
        targets.advantages,
        value_coef=config.value_coef,
        entropy_coef=config.entropy_coef,
    )
