"""An A3C worker without Ray: roll out n steps on given weights, return the gradients."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from marl_ray.algorithms.a3c.config import A3CConfig
from marl_ray.algorithms.a3c.server import build_policy_modules
from marl_ray.algorithms.core.losses import ActorCriticLoss, actor_critic_loss
from marl_ray.algorithms.core.multi_agent_rollout import MultiAgentSampler, PolicyRollout
from marl_ray.algorithms.core.policy_network import PolicyNetwork
from marl_ray.algorithms.core.returns import n_step_returns
from marl_ray.algorithms.core.rollout import EpisodeStats
from marl_ray.algorithms.core.transfer import nbytes


class GradientResult(NamedTuple):
    version: int  # weights version the gradients were computed on
    env_steps: int
    episodes: list[EpisodeStats]
    losses: dict[str, float]
    gradient_bytes: int  # the gradients returned beside this result
    weights_bytes: int  # the weights this call received


class A3CWorker:
    def __init__(self, config: A3CConfig, worker_index: int):
        self.config = config
        seed = config.seed * 10_007 + worker_index
        groups, self.net = build_policy_modules(config)
        self.sampler = MultiAgentSampler(
            config.env, config.env_config, config.num_envs_per_worker, groups, dict(self.net), seed
        )

    def compute_gradients(
        self, weights: tuple[int, dict[str, np.ndarray]]
    ) -> tuple[list[np.ndarray], GradientResult]:
        """Gradients of every policy's loss (summed) on one rollout with `weights`, one array
        per parameter of the policies' `ModuleDict`, in its `parameters()` order."""
        version, state = weights
        self.net.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
        steps_before = self.sampler.env_steps
        rollout = self.sampler.rollout(self.config.rollout_length)
        self.net.zero_grad(set_to_none=True)
        losses = {
            policy_id: a3c_loss(self.net[policy_id], batch, self.config)
            for policy_id, batch in rollout.items()
            if batch.mask.any()
        }
        sum(loss.total for loss in losses.values()).backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        grads = [
            np.zeros(tuple(p.shape), np.float32) if p.grad is None else p.grad.numpy().copy()
            for p in self.net.parameters()
        ]
        result = GradientResult(
            version,
            self.sampler.env_steps - steps_before,
            self.sampler.tracker.drain(),
            _mean_losses(losses),
            nbytes(grads),
            nbytes(state),
        )
        return grads, result


def _mean_losses(losses: dict[str, ActorCriticLoss]) -> dict[str, float]:
    names = ActorCriticLoss._fields
    return {
        k: float(np.mean([float(getattr(loss, k).detach()) for loss in losses.values()]))
        for k in names
    }


def a3c_loss(net: PolicyNetwork, batch: PolicyRollout, config: A3CConfig) -> ActorCriticLoss:
    """n-step advantage actor-critic loss of one policy on its rollout (time-major `[T, R]`),
    over the rows whose agent was present. The rollout's truncation values are the acting
    critic's, which is this network (A3C is on-policy)."""
    T, R = batch.rewards.shape
    params, values = net(batch.obs.flatten(0, 1), batch.state.flatten(0, 1))
    log_probs, entropy = net.log_prob_and_entropy(params, batch.actions.flatten(0, 1))
    log_probs, entropy = log_probs.reshape(T, R), entropy.reshape(T, R)
    values = values.reshape(T, R)
    with torch.no_grad():
        bootstrap = net.value(batch.bootstrap_obs, batch.bootstrap_state)
    targets = n_step_returns(
        batch.rewards,
        values.detach(),
        bootstrap,
        batch.terminated,
        batch.truncated,
        batch.truncation_values,
        config.gamma,
    )
    present = batch.mask
    return actor_critic_loss(
        log_probs[present],
        entropy[present],
        values[present],
        targets.returns[present],
        targets.advantages[present],
        value_coef=config.value_coef,
        entropy_coef=config.entropy_coef,
    )
