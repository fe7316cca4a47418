"""AlphaZero's network: a residual conv tower with a policy head (logits over every action)
and a value head (tanh, the expected result for the player to move)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from envs.board_games import NUM_PLANES, Game
from envs.schema import check


@dataclass(frozen=True)
class NetworkConfig:
    channels: int = 64
    res_blocks: int = 3
    value_hidden: int = 64

    def __post_init__(self) -> None:
        check(self.channels >= 1, "training.extra.channels must be >= 1")
        check(self.res_blocks >= 0, "training.extra.res_blocks must be >= 0")
        check(self.value_hidden >= 1, "training.extra.value_hidden must be >= 1")


def _conv_bn(cin: int, cout: int, kernel: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout)]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(channels, channels, 3), nn.ReLU(), *_conv_bn(channels, channels, 3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class PolicyValueNet(nn.Module):
    """planes [B, NUM_PLANES, rows, cols] -> (policy logits [B, num_actions], value [B])."""

    def __init__(self, game: Game, config: NetworkConfig):
        super().__init__()
        c, cells = config.channels, game.rows * game.columns
        self.tower = nn.Sequential(
            *_conv_bn(NUM_PLANES, c, 3),
            nn.ReLU(),
            *[ResidualBlock(c) for _ in range(config.res_blocks)],
        )
        self.policy_head = nn.Sequential(
            *_conv_bn(c, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * cells, game.num_actions)
        )
        self.value_head = nn.Sequential(
            *_conv_bn(c, 1, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(cells, config.value_hidden),
            nn.ReLU(),
            nn.Linear(config.value_hidden, 1),
            nn.Tanh(),
        )

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.tower(planes)
        return self.policy_head(x), self.value_head(x).squeeze(-1)
