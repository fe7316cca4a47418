"""Trains the policy-value network on replayed positions (Adam, loss with an L2 term)."""

from __future__ import annotations

import numpy as np
import torch

from envs.board_games import Game
from marl_ray.algorithms.alphazero.network import NetworkConfig, PolicyValueNet
from marl_ray.algorithms.alphazero.replay import Positions
from marl_ray.algorithms.core.losses import policy_value_loss


def cpu_weights(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}


class AlphaZeroLearner:
    def __init__(
        self, game: Game, network: NetworkConfig, *, lr: float, l2: float, device: torch.device
    ):
        self.device, self.l2 = device, l2
        self.network = PolicyValueNet(game, network).to(device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=lr)
        self.steps = 0

    def step(self, batch: Positions) -> dict[str, float]:
        """One gradient step on a batch of positions."""
        self.network.train()
        planes, policies, values = (torch.from_numpy(a.copy()).to(self.device) for a in batch)
        logits, predicted = self.network(planes)
        loss = policy_value_loss(
            logits, predicted, policies, values, list(self.network.parameters()), l2_coef=self.l2
        )
        self.optimizer.zero_grad()
        loss.total.backward()
        self.optimizer.step()
        self.steps += 1
        return {f"{name}_loss": float(v.detach()) for name, v in loss._asdict().items()}

    def train(self, batches: list[Positions]) -> dict[str, float]:
        """Steps over `batches`; the mean of each loss term."""
        figures = [self.step(b) for b in batches]
        return {k: float(np.mean([f[k] for f in figures])) for k in figures[0]}

    def get_weights(self) -> dict[str, torch.Tensor]:
        return cpu_weights(self.network)

    def state_dict(self) -> dict:
        return {
            "network": self.get_weights(),
            "optimizer": self.optimizer.state_dict(),
            "steps": self.steps,
        }

    def load_state_dict(self, state: dict) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps = int(state["steps"])
