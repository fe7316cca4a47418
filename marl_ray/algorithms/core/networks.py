"""Actor-critic networks built from an env's spaces: MLP or conv encoder, discrete
(categorical) or continuous (diagonal Gaussian) policy head, scalar value head."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from envs.schema import ConfigError, check
from marl_ray.algorithms.core.fast_tanh import Tanh

ACTIVATIONS = {"tanh": Tanh, "relu": nn.ReLU, "silu": nn.SiLU}


@dataclass(frozen=True)
class NetworkConfig:
    encoder: Literal["mlp", "conv"] = "mlp"
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """MLP layers (for `conv`: the layers after the convolutions)."""
    activation: Literal["tanh", "relu", "silu"] = "tanh"
    conv_channels: list[int] = field(default_factory=lambda: [16, 32])
    """3x3 convolutions, stride 1, for image-like `[H, W, C]` observations."""
    initial_log_std: float = -0.5
    """Continuous actions: starting log standard deviation of the Gaussian."""

    def __post_init__(self) -> None:
        check(all(h > 0 for h in self.hidden_sizes), "hidden_sizes must be positive")
        check(all(c > 0 for c in self.conv_channels), "conv_channels must be positive")


class ActorCritic(nn.Module):
    """`forward(obs) -> (policy parameters, value)`; `distribution(params)` makes the policy.

    Policy parameters are the whole distribution: logits `[N, n]` (Discrete) or Gaussian
    means and log stds joined `[N, 2k]` (Box, in the env's own action units), so a rollout
    that stores them can rebuild the exact behaviour policy after the learner has moved."""

    def __init__(self, obs_space: gym.Space, action_space: gym.Space, config: NetworkConfig):
        super().__init__()
        if not isinstance(obs_space, gym.spaces.Box):
            raise ConfigError(f"observations must be a Box space, got {obs_space}")
        act = ACTIVATIONS[config.activation]
        self.encoder, features = build_encoder(obs_space.shape, config, act)
        if isinstance(action_space, gym.spaces.Discrete):
            self.discrete = True
            self.policy_head = nn.Linear(features, int(action_space.n))
        elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
            if not (
                np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))
            ):
                raise ConfigError(f"Box actions need finite bounds, got {action_space}")
            self.discrete = False
            self.policy_head = nn.Linear(features, action_space.shape[0])
            self.log_std = nn.Parameter(torch.full(action_space.shape, config.initial_log_std))
        else:
            raise ConfigError(f"actions must be Discrete or a 1-D Box, got {action_space}")
        self.value_head = nn.Linear(features, 1)
        _init(self, self.policy_head, self.value_head)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(obs)
        params = self.policy_head(features)
        if not self.discrete:
            params = torch.cat([params, self.log_std.expand_as(params)], dim=-1)
        return params, self.value_head(features).squeeze(-1)

    def distribution(self, params: torch.Tensor) -> Distribution:
        if self.discrete:
            return Categorical(logits=params)
        mean, log_std = params.chunk(2, dim=-1)
        return Independent(Normal(mean, log_std.exp()), 1)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.value_head(self.encoder(obs)).squeeze(-1)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, greedy: bool = False) -> torch.Tensor:
        params, _ = self(obs)
        if greedy:
            return params.argmax(-1) if self.discrete else params.chunk(2, dim=-1)[0]
        return self.distribution(params).sample()


def build_encoder(shape: tuple[int, ...], config: NetworkConfig, act) -> tuple[nn.Module, int]:
    layers: list[nn.Module] = []
    if config.encoder == "conv":
        if len(shape) != 3:
            raise ConfigError(f"encoder: conv needs [H, W, C] observations, got shape {shape}")
        height, width, channels = shape
        layers.append(_ChannelsFirst())
        for out in config.conv_channels:
            layers += [nn.Conv2d(channels, out, 3, padding=1), act()]
            channels = out
        layers.append(nn.Flatten())
        size = channels * height * width
    else:
        layers.append(nn.Flatten())
        size = int(np.prod(shape))
    for hidden in config.hidden_sizes:
        layers += [nn.Linear(size, hidden), act()]
        size = hidden
    return nn.Sequential(*layers), size


class _ChannelsFirst(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 3, 1, 2)


def _init(model: nn.Module, policy_head: nn.Linear, value_head: nn.Linear) -> None:
    """Orthogonal init (gain sqrt 2), small policy head so the first policy is near uniform."""
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            nn.init.orthogonal_(module.weight, np.sqrt(2))
            nn.init.zeros_(module.bias)
    nn.init.orthogonal_(policy_head.weight, 0.01)
    nn.init.orthogonal_(value_head.weight, 1.0)


def build_actor_critic(
    obs_space: gym.Space, action_space: gym.Space, config: NetworkConfig | None = None
) -> ActorCritic:
    return ActorCritic(obs_space, action_space, config or NetworkConfig())
