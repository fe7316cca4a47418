"""The IMPALA learner without Ray: V-trace targets and one optimiser step per batch."""

from __future__ import annotations

import numpy as np
import torch

import envs
from marl_ray.algorithms.core.losses import actor_critic_loss
from marl_ray.algorithms.core.parameter_server import OPTIMIZERS
from marl_ray.algorithms.core.rollout import Rollout, build_policy_network
from marl_ray.algorithms.core.vtrace import vtrace
from marl_ray.algorithms.impala.config import ImpalaConfig


def concat_rollouts(rollouts: list[Rollout]) -> Rollout:
    """Joins trajectories along the batch axis (`[T, B1] + [T, B2] -> [T, B1 + B2]`)."""
    if len(rollouts) == 1:
        return rollouts[0]
    # Every field is time-major [T, B, ...] except bootstrap_obs, which is [B, ...].
    return Rollout(
        **{
            name: torch.cat(
                [getattr(r, name) for r in rollouts], dim=0 if name == "bootstrap_obs" else 1
            )
            for name in Rollout._fields
        }
    )


class ImpalaLearner:
    @classmethod
    def from_config(cls, config: ImpalaConfig, device: torch.device) -> ImpalaLearner:
        """A learner whose initial network is a function of `config.seed`."""
        env = envs.make_batched(config.env, 1, config.env_config)
        return cls(build_policy_network(env, config.network, config.seed), config, device)

    def __init__(self, net: torch.nn.Module, config: ImpalaConfig, device: torch.device):
        self.config = config
        self.device = device
        self.net = net.to(device)
        self.optimizer = OPTIMIZERS[config.optimizer](self.net.parameters(), lr=config.lr)
        self.entropy_coef = config.entropy_coef
        self.version = 0

    def update(self, rollouts: list[Rollout], behaviour_versions: list[int]) -> dict[str, float]:
        """One optimiser step on the trajectories; returns losses and the policy lag."""
        batch = Rollout(*(x.to(self.device) for x in concat_rollouts(rollouts)))
        losses, stats, _ = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        losses.total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        self.optimizer.step()
        lag = float(np.mean([self.version - v for v in behaviour_versions]))
        self.version += 1
        return {
            **{f"{k}_loss": float(v.detach()) for k, v in losses._asdict().items()},
            **stats,
            "grad_norm": float(grad_norm),
            "policy_lag": lag,
            "lr": self.optimizer.param_groups[0]["lr"],
            "entropy_coef": self.entropy_coef,
        }

    def loss(self, batch: Rollout, targets=None):
        """(loss terms, stats, V-trace targets) on `batch`; pass `targets` to hold them
        fixed (the learner itself always recomputes them)."""
        cfg = self.config
        T, B = batch.rewards.shape
        params, values = self.net(batch.obs.reshape(T * B, *batch.obs.shape[2:]))
        dist = self.net.distribution(params)
        actions = batch.actions.reshape(T * B, *batch.actions.shape[2:])
        target_log_probs = dist.log_prob(actions).reshape(T, B)
        entropy = dist.entropy().reshape(T, B)
        values = values.reshape(T, B)
        with torch.no_grad():
            behaviour = self.net.distribution(batch.behaviour_params.reshape(T * B, -1))
            behaviour_log_probs = behaviour.log_prob(actions).reshape(T, B)
            bootstrap = self.net.value(batch.bootstrap_obs)
            cut = batch.truncated & ~batch.terminated
            truncation_values = torch.zeros(T, B, device=self.device)
            if cut.any():
                truncation_values[cut] = self.net.value(batch.final_obs[cut])
            targets = targets or vtrace(
                behaviour_log_probs,
                target_log_probs.detach(),
                batch.rewards,
                values.detach(),
                bootstrap,
                cfg.gamma * (~batch.terminated).float(),
                truncated=cut,
                truncation_values=truncation_values,
                clip_rho_threshold=cfg.clip_rho_threshold,
                clip_c_threshold=cfg.clip_c_threshold,
                clip_pg_rho_threshold=cfg.clip_pg_rho_threshold,
            )
        losses = actor_critic_loss(
            target_log_probs,
            entropy,
            values,
            targets.vs,
            targets.pg_advantages,
            value_coef=cfg.value_coef,
            entropy_coef=self.entropy_coef,
        )
        ratio = (target_log_probs.detach() - behaviour_log_probs).exp()
        return losses, {"mean_rho": float(ratio.mean())}, targets

    def get_weights(self) -> tuple[int, dict[str, np.ndarray]]:
        state = self.net.state_dict()
        return self.version, {k: v.detach().cpu().clone().numpy() for k, v in state.items()}

    def set_hyperparameters(self, lr: float | None = None, entropy_coef: float | None = None):
        """Changes the learning rate or entropy coefficient of the running learner (PBT)."""
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        if entropy_coef is not None:
            self.entropy_coef = entropy_coef

    def state_dict(self) -> dict:
        return {
            "weights": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "version": self.version,
            "lr": self.optimizer.param_groups[0]["lr"],
            "entropy_coef": self.entropy_coef,
        }

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = int(state["version"])
        self.set_hyperparameters(float(state["lr"]), float(state["entropy_coef"]))
