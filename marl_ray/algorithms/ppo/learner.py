"""The PPO learner without Ray: per policy, GAE over its rollouts, then minibatch epochs of
the clipped surrogate, value loss and entropy bonus on its present rows only.

On a CPU, where the actor and the critic share no layer, a minibatch's two losses are
differentiated at once: the critic's on a second thread (torch releases the GIL inside its
operations), the actor's on the calling one; the gradients are those of the summed loss."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from marl_ray.algorithms.core.multi_agent_rollout import PolicyRollout, concat_policy_rollouts
from marl_ray.algorithms.core.policy_network import build_policies
from marl_ray.algorithms.core.policy_set import PolicySet
from marl_ray.algorithms.core.ppo_math import (
    RunningMeanStd,
    clipped_surrogate,
    gae,
    normalize_advantages,
    piecewise_linear,
    value_loss,
)
from marl_ray.algorithms.ppo.config import PPOConfig


class PPOLearner(PolicySet):
    def __init__(self, config: PPOConfig, device: torch.device | str = "cpu"):
        _, self.groups, nets = build_policies(config, "MARL_PPO")
        super().__init__(
            nets,
            lambda params, lr: torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True),
            lr=config.lr,
            entropy_coef=config.entropy_coef,
            device=torch.device(device),
        )
        self.config = config
        self.value_stats = {k: RunningMeanStd() for k in self.nets}
        self.generator = torch.Generator().manual_seed(config.seed)
        self.critic_thread = (
            ThreadPoolExecutor(1, thread_name_prefix="ppo-critic")
            if config.parallel_critic and self.device.type == "cpu"
            else None
        )

    # ---- the update -------------------------------------------------------------------

    def update(
        self, rollouts: list[dict[str, PolicyRollout]], env_steps: int, behaviour_version: int
    ) -> dict[str, Any]:
        """One PPO update of every policy on the workers' rollouts; `env_steps` (the run's
        total so far) drives the schedules."""
        self._apply_schedules(env_steps)
        lag = self.version - behaviour_version
        decoupled = lag > 0 and self.config.proximal_policy == "current"
        stats = {}
        for policy_id in self.nets:
            batch = concat_policy_rollouts([r[policy_id] for r in rollouts])
            stats[policy_id] = self._update_policy(policy_id, batch, decoupled)
        self.version += 1
        return {
            **stats,
            "policy_lag": float(lag),
            "lr": self.lr,
            "entropy_coef": self.entropy_coef,
        }

    def _apply_schedules(self, env_steps: int) -> None:
        cfg = self.config
        if cfg.lr_schedule:
            self.set_hyperparameters(lr=piecewise_linear(cfg.lr_schedule, env_steps))
        if cfg.entropy_schedule:
            self.entropy_coef = piecewise_linear(cfg.entropy_schedule, env_steps)

    def targets(self, policy_id: str, batch: PolicyRollout) -> tuple[torch.Tensor, ...]:
        """(advantages, value targets, old values) of every row, the last two in the
        critic's (normalised) units; updates the running return statistics. The values are
        the critic's as it is before this update (the acting one's without lag)."""
        cfg, stats = self.config, self.value_stats[policy_id]
        values, bootstrap = self._values(self.nets[policy_id], batch)
        real = stats.denormalize if cfg.value_normalization else (lambda x: x)
        real_values = real(values)
        out = gae(
            batch.rewards,
            real_values,
            real(bootstrap),
            batch.terminated,
            batch.truncated,
            real(batch.truncation_values),
            cfg.gamma,
            cfg.gae_lambda,
        )
        if not cfg.value_normalization:
            return out.advantages, out.returns, values
        stats.update(out.returns[batch.mask])
        return out.advantages, stats.normalize(out.returns), stats.normalize(real_values)

    @torch.inference_mode()
    def _values(self, net, batch: PolicyRollout) -> tuple[torch.Tensor, torch.Tensor]:
        """The critic's values `[T, R]` of every row and `[R]` of the rows after the last
        step, a minibatch at a time (inference tensors: read, never written in place)."""
        obs, state = (x.flatten(0, 1).to(self.device) for x in (batch.obs, batch.state))
        size = self.config.minibatch_size
        values = torch.cat(
            [net.value(obs[i : i + size], state[i : i + size]) for i in range(0, len(obs), size)]
        )
        bootstrap = net.value(
            batch.bootstrap_obs.to(self.device), batch.bootstrap_state.to(self.device)
        )
        return values.reshape(batch.rewards.shape).cpu(), bootstrap.cpu()

    def _update_policy(
        self, policy_id: str, batch: PolicyRollout, decoupled: bool
    ) -> dict[str, float]:
        """Minibatch epochs on the present rows; `decoupled`: the clip is around this policy
        as it is now (proximal), not around the stale behaviour policy."""
        cfg, net, optimizer = self.config, self.nets[policy_id], self.optimizers[policy_id]
        advantages, value_targets, old_values = self.targets(policy_id, batch)
        present = batch.mask.reshape(-1)
        rows = {
            "obs": batch.obs.flatten(0, 1)[present],
            "state": batch.state.flatten(0, 1)[present],
            "actions": batch.actions.flatten(0, 1)[present],
            "log_probs": batch.log_probs.reshape(-1)[present],
            "advantages": advantages.reshape(-1)[present],
            "value_targets": value_targets.reshape(-1)[present],
            "old_values": old_values.reshape(-1)[present],
        }
        rows = {k: v.to(self.device) for k, v in rows.items()}
        n = len(rows["log_probs"])
        if n == 0:
            return {"present_rows": 0.0}
        if decoupled:
            rows["proximal_log_probs"] = self._log_probs(net, rows)
        sums: dict[str, list[float]] = {}
        epochs_run = 0
        for _ in range(cfg.num_epochs):
            order = torch.randperm(n, generator=self.generator).to(self.device)
            shuffled = {k: v[order] for k, v in rows.items()}  # minibatches: slices of it
            epoch_kl = []
            for start in range(0, n, cfg.minibatch_size):
                end = start + cfg.minibatch_size
                figures = self._minibatch_step(
                    net, optimizer, {k: v[start:end] for k, v in shuffled.items()}
                )
                epoch_kl.append(figures["approx_kl"])
                for k, v in figures.items():
                    sums.setdefault(k, []).append(v)
            epochs_run += 1
            if cfg.target_kl is not None and np.mean(epoch_kl) > cfg.target_kl:
                break
        return {
            **{k: float(np.mean(v)) for k, v in sums.items()},
            "epochs": float(epochs_run),
            "present_rows": float(n),
            "value_mean": self.value_stats[policy_id].mean,
            "value_std": self.value_stats[policy_id].std,
        }

    @torch.inference_mode()
    def _log_probs(self, net, rows: dict[str, torch.Tensor]) -> torch.Tensor:
        """Log probabilities of the rows' actions under `net`'s actor as it is now, a
        minibatch at a time."""
        size = self.config.minibatch_size
        return torch.cat(
            [
                net.log_prob_and_entropy(
                    net.policy(rows["obs"][i : i + size]), rows["actions"][i : i + size]
                )[0]
                for i in range(0, len(rows["actions"]), size)
            ]
        )  # an inference tensor: indexed (a normal tensor then) beside the others

    def _minibatch_step(self, net, optimizer, mb: dict[str, torch.Tensor]) -> dict[str, float]:
        optimizer.zero_grad(set_to_none=True)
        if self.critic_thread is not None and net.separate_critic:
            critic = self.critic_thread.submit(self._critic_backward, net, mb)
            actor_loss, actor_figures = self._actor_loss(net, net.policy(mb["obs"]), mb)
            actor_loss.backward()
            critic_loss, critic_figures = critic.result()
        else:
            params, values = net(mb["obs"], mb["state"])
            actor_loss, actor_figures = self._actor_loss(net, params, mb)
            critic_loss, critic_figures = self._critic_loss(values, mb)
            (actor_loss + critic_loss).backward()
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        optimizer.step()
        return {
            **actor_figures,
            **critic_figures,
            "total_loss": float(actor_loss.detach() + critic_loss.detach()),
            "grad_norm": float(grad_norm),
        }

    def _critic_backward(self, net, mb: dict[str, torch.Tensor]):
        loss, figures = self._critic_loss(net.value(mb["obs"], mb["state"]), mb)
        loss.backward()
        return loss, figures

    def _actor_loss(self, net, params: torch.Tensor, mb: dict[str, torch.Tensor]):
        """The clipped surrogate minus the entropy bonus, and its figures."""
        cfg = self.config
        log_probs, entropy = net.log_prob_and_entropy(params, mb["actions"])
        entropy = entropy.mean()
        policy = clipped_surrogate(
            log_probs,
            mb["log_probs"],
            normalize_advantages(mb["advantages"]),
            cfg.clip_param,
            mb.get("proximal_log_probs"),
        )
        with torch.no_grad():
            log_ratio = log_probs - mb.get("proximal_log_probs", mb["log_probs"])  # clip's step
            approx_kl = float(((log_ratio.exp() - 1) - log_ratio).mean())
            clip_fraction = float(((log_ratio.exp() - 1).abs() > cfg.clip_param).float().mean())
        figures = {
            "policy_loss": float(policy.detach()),
            "entropy": float(entropy.detach()),
            "approx_kl": approx_kl,
            "clip_fraction": clip_fraction,
        }
        return policy - self.entropy_coef * entropy, figures

    def _critic_loss(self, values: torch.Tensor, mb: dict[str, torch.Tensor]):
        """The weighted value loss and its figures."""
        cfg = self.config
        value = value_loss(values, mb["old_values"], mb["value_targets"], cfg.value_clip)
        with torch.no_grad():
            target = mb["value_targets"]
            explained = 1.0 - float((target - values).var() / target.var().clamp_min(1e-8))
        figures = {
            "vf_loss": float(value.detach()),
            "vf_explained_var": explained,  # of the minibatch, before its step (as RLlib's)
        }
        return cfg.value_coef * value, figures

    # ---- state (weights, optimisers and hyperparameters: PolicySet) -------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "value_stats": {k: s.state_dict() for k, s in self.value_stats.items()},
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for k, stats in self.value_stats.items():
            stats.load_state_dict(state["value_stats"][k])
        self.generator.set_state(state["generator"])
