"""`grid_cnn`: a convolutional actor-critic for image-like grid observations `[C, H, W]`
(e.g. grid_world with `observation: image`), with a shared encoder.

Options: `conv_channels` (3x3 convolutions, padding 1, one per entry), `hidden_sizes` (MLP
after flattening), `activation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from envs.schema import check
from marl_ray.rllib.modules.mlp import ACTIVATIONS, dist_inputs_size, mlp, own_options


@dataclass(frozen=True)
class GridCNNOptions:
    conv_channels: list[int] = field(default_factory=lambda: [16, 32])
    hidden_sizes: list[int] = field(default_factory=lambda: [64])
    activation: Literal["tanh", "relu", "silu"] = "relu"

    def __post_init__(self) -> None:
        sizes = [*self.conv_channels, *self.hidden_sizes]
        check(
            all(h > 0 for h in sizes) and self.conv_channels, f"sizes must be positive, got {sizes}"
        )


class GridCNN(TorchRLModule, ValueFunctionAPI):
    """Conv encoder -> MLP -> policy and value heads."""

    options_class = GridCNNOptions

    def setup(self) -> None:
        space = self.observation_space
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 3):
            raise ValueError(
                f"grid_cnn needs image observations [channels, height, width], got {space}; "
                "for grid_world set env.config.observation: image"
            )
        opts = own_options(GridCNNOptions, self.model_config)
        channels, height, width = space.shape
        layers: list[nn.Module] = []
        for c_in, c_out in zip(
            [channels, *opts.conv_channels[:-1]], opts.conv_channels, strict=True
        ):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), ACTIVATIONS[opts.activation]()]
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        flat = opts.conv_channels[-1] * height * width
        self.trunk = mlp([flat, *opts.hidden_sizes], opts.activation)
        self.pi_head = nn.Linear(opts.hidden_sizes[-1], dist_inputs_size(self.action_space))
        self.value_head = nn.Linear(opts.hidden_sizes[-1], 1)

    def _features(self, obs: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.encoder(obs))

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        features = self._features(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.pi_head(features), Columns.EMBEDDINGS: features}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        features = embeddings if embeddings is not None else self._features(batch[Columns.OBS])
        return self.value_head(features).squeeze(-1)
