"""The IQL / VDN / QMIX learner without Ray: per-agent Q networks (one per policy), target
copies, and a mixer (none, the VDN sum, or QMIX's network on the global state), trained on
replayed sequences with n-step double-Q targets.

- IQL: every present agent's own TD error, with its own rewards and episode ends.
- VDN / QMIX: the team's TD error on Q_tot = mix(chosen Q of the present agents, state);
  team reward = the agents' rewards summed; the team's episode ends with the copy's (all
  agents terminated: terminal; otherwise a truncation, which bootstraps from the target
  mixer on the state reached). Steps where no agent was present enter no loss.
- Recurrent agents: each replayed sequence is unrolled from the hidden state its sampler
  stored (online and target networks alike), restarting at zero where a slot's history
  starts; the Q of the state a step reached continues from the hidden state after that step.
  The first `burn_in` steps only warm the state up: no loss, no gradient.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

import envs
from marl_ray.algorithms.core.policy_map import PolicyGroup, policy_groups
from marl_ray.algorithms.core.q_network import QNetwork, build_q_networks, group_positions
from marl_ray.algorithms.core.value_math import (
    QMixer,
    double_q_values,
    n_step_targets,
    polyak_update,
    vdn_mix,
)
from marl_ray.algorithms.value_decomposition.config import QConfig

ALGORITHM = {"none": "IQL", "vdn": "VDN", "qmix": "QMIX"}


def build_q_policies(
    config: QConfig,
) -> tuple[envs.BatchedEnv, list[PolicyGroup], dict[str, QNetwork]]:
    """A one-copy core, the policy groups and their initial Q networks (from `config.seed`)."""
    core = envs.make_batched(config.env, 1, config.env_config)
    groups = policy_groups(core, config.policies, ALGORITHM[config.mixer])
    return core, groups, build_q_networks(core, groups, config.network, config.seed)


class QLearner:
    def __init__(self, config: QConfig, device: torch.device | str = "cpu"):
        self.config = config
        self.device = torch.device(device)
        core, self.groups, nets = build_q_policies(config)
        self.num_agents = core.num_agents
        self.nets = torch.nn.ModuleDict(nets).to(self.device)
        self.mixer: torch.nn.Module | None = None
        if config.mixer == "qmix":
            state_size = int(np.prod(core.state_space.shape))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed * 1_000_003 + 999)
                self.mixer = QMixer(core.num_agents, state_size, config.mixer_embed)
            self.mixer.to(self.device)
        self.target_nets = copy.deepcopy(self.nets)
        self.target_mixer = copy.deepcopy(self.mixer)
        params = list(self.nets.parameters()) + (
            list(self.mixer.parameters()) if self.mixer else []
        )
        self.params = params
        self.optimizer = torch.optim.Adam(params, lr=config.lr)
        self.updates = 0

    # ---- Q values of every slot -----------------------------------------------------------

    def _step(self, nets, obs: torch.Tensor, hidden: torch.Tensor):
        """Q `[N, A, n]` and hidden states `[N, A, H]` of every slot for core rows
        `[N, A, D]` and hidden states `[N, A, H]` (H = 0 for feed-forward networks)."""
        N, A, H = *obs.shape[:2], hidden.shape[-1]
        q_out, h_out = None, torch.zeros_like(hidden)
        for group in self.groups:
            cols = list(group.columns)
            rows = obs[:, cols].reshape(N * len(cols), *obs.shape[2:])
            positions = group_positions(N, len(cols)).to(self.device)
            h = hidden[:, cols].reshape(N * len(cols), H)
            q, h = nets[group.policy_id].step(rows, positions, h)
            if q_out is None:
                q_out = q.new_zeros((N, A, q.shape[-1]))
            q_out[:, cols] = q.reshape(N, len(cols), -1)
            h_out[:, cols] = h.reshape(N, len(cols), H)
        return q_out, h_out

    def _q(self, nets, obs: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """Q of every slot `[T, B, A, n]` for core rows `[T, B, A, D]`; recurrent networks
        read each row's hidden state `[T, B, A, H]` (the state before that row)."""
        T, B, A = obs.shape[:3]
        if hidden is None:
            hidden = obs.new_zeros((T, B, A, 0), dtype=torch.float32)
        return self._step(nets, obs.flatten(0, 1), hidden.flatten(0, 1))[0].unflatten(0, (T, B))

    def _unroll(self, nets, batch: dict[str, torch.Tensor], burn_in: int):
        """Recurrent Q of every slot `[T, B, A, n]` along the replayed sequences, from their
        stored hidden states (restarted where `first`), and the hidden state after each step
        `[T, B, A, H]`. The first `burn_in` steps run without gradient."""
        hidden, qs, after = batch["hidden"][0], [], []
        for t in range(batch["obs"].shape[0]):
            hidden = torch.where(batch["first"][t].unsqueeze(-1), 0.0, hidden)
            with torch.set_grad_enabled(torch.is_grad_enabled() and t >= burn_in):
                q, hidden = self._step(nets, batch["obs"][t], hidden)
            qs.append(q)
            after.append(hidden)
        return torch.stack(qs), torch.stack(after)

    def _allowed(self, obs: torch.Tensor) -> torch.Tensor | None:
        """`[T, B, A, n]` action masks of the rows (None when the env has none)."""
        T, B, A = obs.shape[:3]
        out = None
        for group in self.groups:
            cols = list(group.columns)
            rows = obs[:, :, cols].reshape(T * B * len(cols), *obs.shape[3:])
            allowed = self.nets[group.policy_id].allowed(rows)
            if allowed is None:
                continue
            if out is None:
                out = torch.ones((T, B, A, allowed.shape[-1]), dtype=torch.bool, device=obs.device)
            out[:, :, cols] = allowed.reshape(T, B, len(cols), -1)
        return out

    # ---- the update -----------------------------------------------------------------------

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimiser step on a batch of sequences (`SequenceReplay.sample`)."""
        cfg = self.config
        batch = {k: v.to(self.device) for k, v in batch.items()}
        next_obs = batch["next_obs"]
        online_after = target_after = None  # hidden states after each step (recurrent)
        if "hidden" in batch:
            # the state reached continues the slot's history; an agent that joins there
            # (absent at this step) starts its history from zero, as the samplers do
            joined = ~batch["present"].unsqueeze(-1)
            q, online_after = self._unroll(self.nets, batch, cfg.burn_in)
            online_after = torch.where(joined, 0.0, online_after.detach())
            with torch.no_grad():
                target_after = self._unroll(self.target_nets, batch, 0)[1]
                target_after = torch.where(joined, 0.0, target_after)
        else:
            q = self._q(self.nets, batch["obs"])
        chosen = q.gather(-1, batch["actions"].long().unsqueeze(-1)).squeeze(-1)  # [T, B, A]
        with torch.no_grad():
            target_q = self._q(self.target_nets, next_obs, target_after)
            allowed = self._allowed(next_obs)
            if cfg.double_q:
                online_q = self._q(self.nets, next_obs, online_after)
                best = double_q_values(online_q, target_q, allowed)
            else:
                masked = target_q if allowed is None else target_q.masked_fill(~allowed, -1e9)
                best = masked.max(-1).values
        present = batch["present"]
        learned = torch.arange(present.shape[0], device=self.device) >= cfg.burn_in  # [T]
        if cfg.mixer == "none":
            loss, td = self._independent_loss(chosen, best, batch, learned)
        else:
            loss, td = self._team_loss(chosen, best, batch, learned)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip)
        self.optimizer.step()
        self.updates += 1
        self._update_targets()
        return {
            "loss": float(loss.detach()),
            "td_error": float(td.abs().mean()) if td.numel() else 0.0,
            "q_mean": float(chosen.detach()[present].mean()) if present.any() else 0.0,
            "grad_norm": float(grad_norm),
        }

    def _independent_loss(self, chosen, best, batch, learned):
        T, B, A = chosen.shape
        flat = lambda x: x.reshape(T, B * A)  # noqa: E731
        with torch.no_grad():
            targets = n_step_targets(
                flat(batch["rewards"]).float(),
                flat(best),
                flat(batch["terminated"]),
                flat(batch["truncated"]),
                self.config.gamma,
                self.config.n_step,
            )
        present = flat(batch["present"]) & learned[:, None]
        td = (flat(chosen) - targets)[present]
        return td.pow(2).mean() if td.numel() else chosen.sum() * 0.0, td.detach()

    def _team_loss(self, chosen, best, batch, learned):
        present, next_present = batch["present"], batch["next_present"]
        terminated = batch["terminated"].all(-1)
        truncated = ~terminated & (batch["truncated"] | batch["terminated"]).all(-1)
        if self.mixer is None:
            total = vdn_mix(chosen, present)
            with torch.no_grad():
                next_total = vdn_mix(best, next_present)
        else:
            total = self.mixer(chosen, batch["state"].float(), present)
            with torch.no_grad():
                next_total = self.target_mixer(best, batch["next_state"].float(), next_present)
        with torch.no_grad():
            targets = n_step_targets(
                torch.where(present, batch["rewards"].float(), 0.0).sum(-1),
                next_total,
                terminated,
                truncated,
                self.config.gamma,
                self.config.n_step,
            )
        someone = present.any(-1) & learned[:, None]
        td = (total - targets)[someone]
        return td.pow(2).mean() if td.numel() else total.sum() * 0.0, td.detach()

    def _update_targets(self) -> None:
        cfg = self.config
        pairs = [(self.target_nets, self.nets)]
        if self.mixer is not None:
            pairs.append((self.target_mixer, self.mixer))
        if cfg.target_tau is not None:
            for target, online in pairs:
                polyak_update(target, online, cfg.target_tau)
        elif self.updates % cfg.target_update_interval == 0:
            for target, online in pairs:
                polyak_update(target, online, 1.0)

    # ---- weights and state ---------------------------------------------------------------

    def get_weights(self) -> tuple[int, dict[str, dict[str, np.ndarray]]]:
        """(version: updates so far, policy id -> numpy state dict): what samplers load."""
        return self.updates, {
            k: {n: v.detach().cpu().clone().numpy() for n, v in net.state_dict().items()}
            for k, net in self.nets.items()
        }

    def policy_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        return {
            k: {n: v.detach().cpu().clone() for n, v in net.state_dict().items()}
            for k, net in self.nets.items()
        }

    def state_dict(self) -> dict[str, Any]:
        modules = {"nets": self.nets, "target_nets": self.target_nets}
        if self.mixer is not None:
            modules |= {"mixer": self.mixer, "target_mixer": self.target_mixer}
        return {
            **{
                k: {n: v.detach().cpu() for n, v in m.state_dict().items()}
                for k, m in modules.items()
            },
            "optimizer": self.optimizer.state_dict(),
            "updates": self.updates,
            "weights": self.policy_weights(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.nets.load_state_dict(state["nets"])
        self.target_nets.load_state_dict(state["target_nets"])
        if self.mixer is not None:
            self.mixer.load_state_dict(state["mixer"])
            self.target_mixer.load_state_dict(state["target_mixer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["updates"])
