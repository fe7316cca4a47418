"""The IMPALA learner without Ray: per policy, V-trace targets on its trajectories and one
optimiser step on its present rows.

The behaviour policy's log-probabilities of the actions taken come with the trajectories,
so rho compares the learner's policy with the exact one that acted (whatever its std or
mask). Values and the bootstrap value are the learner's critic; a truncated row's bootstrap
is the acting critic's value of the state it reached (computed on the actor before the copy
reset: the learner never sees that state, and truncations are one row per episode).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from marl_ray.algorithms.core.losses import actor_critic_loss
from marl_ray.algorithms.core.multi_agent_rollout import PolicyRollout, concat_policy_rollouts
from marl_ray.algorithms.core.parameter_server import OPTIMIZERS
from marl_ray.algorithms.core.policy_network import build_policies
from marl_ray.algorithms.core.policy_set import PolicySet
from marl_ray.algorithms.core.vtrace import VTraceReturns, vtrace
from marl_ray.algorithms.impala.config import ImpalaConfig


class ImpalaLearner(PolicySet):
    def __init__(self, config: ImpalaConfig, device: torch.device | str = "cpu"):
        """A learner whose initial networks are a function of `config.seed`."""
        _, self.groups, nets = build_policies(config, "MARL_IMPALA")
        optimizer = OPTIMIZERS[config.optimizer]
        super().__init__(
            nets,
            lambda params, lr: optimizer(params, lr=lr),
            lr=config.lr,
            entropy_coef=config.entropy_coef,
            device=torch.device(device),
        )
        self.config = config

    def update(
        self, trajectories: list[dict[str, PolicyRollout]], behaviour_versions: list[int]
    ) -> dict[str, Any]:
        """One optimiser step per policy on the trajectories; losses and the policy lag."""
        stats = {}
        for policy_id, net in self.nets.items():
            batch = concat_policy_rollouts([t[policy_id] for t in trajectories])
            batch = PolicyRollout(*(x.to(self.device) for x in batch))
            if not batch.mask.any():  # none of its agents was present
                stats[policy_id] = {"present_rows": 0.0}
                continue
            losses, figures, _ = self.loss(policy_id, batch)
            optimizer = self.optimizers[policy_id]
            optimizer.zero_grad(set_to_none=True)
            losses.total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(net.parameters(), self.config.grad_clip)
            optimizer.step()
            stats[policy_id] = {
                **{f"{k}_loss": float(v.detach()) for k, v in losses._asdict().items()},
                **figures,
                "grad_norm": float(grad_norm),
                "present_rows": float(batch.mask.sum()),
            }
        lag = float(np.mean([self.version - v for v in behaviour_versions]))
        self.version += 1
        return {**stats, "policy_lag": lag, "lr": self.lr, "entropy_coef": self.entropy_coef}

    def loss(self, policy_id: str, batch: PolicyRollout, targets: VTraceReturns | None = None):
        """(loss terms, figures, V-trace targets) of one policy on `batch`, over its present
        rows; pass `targets` to hold them fixed."""
        cfg, net = self.config, self.nets[policy_id]
        T, R = batch.rewards.shape
        params, values = net(batch.obs.flatten(0, 1), batch.state.flatten(0, 1))
        target_log_probs, entropy = net.log_prob_and_entropy(params, batch.actions.flatten(0, 1))
        target_log_probs, entropy = target_log_probs.reshape(T, R), entropy.reshape(T, R)
        values = values.reshape(T, R)
        with torch.no_grad():
            cut = batch.truncated & ~batch.terminated
            targets = targets or vtrace(
                batch.log_probs,
                target_log_probs.detach(),
                batch.rewards,
                values.detach(),
                net.value(batch.bootstrap_obs, batch.bootstrap_state),
                cfg.gamma * (~batch.terminated).float(),
                truncated=cut,
                truncation_values=batch.truncation_values,
                clip_rho_threshold=cfg.clip_rho_threshold,
                clip_c_threshold=cfg.clip_c_threshold,
                clip_pg_rho_threshold=cfg.clip_pg_rho_threshold,
            )
        present = batch.mask
        losses = actor_critic_loss(
            target_log_probs[present],
            entropy[present],
            values[present],
            targets.vs[present],
            targets.pg_advantages[present],
            value_coef=cfg.value_coef,
            entropy_coef=self.entropy_coef,
        )
        ratio = (target_log_probs.detach() - batch.log_probs)[present].exp()
        return losses, {"mean_rho": float(ratio.mean())}, targets
