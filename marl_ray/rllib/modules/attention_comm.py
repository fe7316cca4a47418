"""`attention_comm`: learned communication. Each agent embeds its observation and those of the
other agents (one shared embedding), attends from its own embedding over itself and the
others (multi-head attention; agents no longer in the episode are masked out), and acts on
its embedding joined with the attended message. The critic reads the same features.

Observations arrive as `{"observations", "peers", "peers_mask"}` (the env registered with the
`peers` view). Options: `embed_size`, `num_heads`, `hidden_sizes`, `activation`.
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
from marl_ray.rllib.modules.mlp import dist_inputs_size, mlp, own_options

KEYS = ("observations", "peers", "peers_mask")


@dataclass(frozen=True)
class AttentionCommOptions:
    embed_size: int = 64
    num_heads: int = 4
    hidden_sizes: list[int] = field(default_factory=lambda: [64])
    activation: Literal["tanh", "relu", "silu"] = "tanh"

    def __post_init__(self) -> None:
        check(self.embed_size > 0 and self.num_heads > 0, "embed_size and num_heads must be > 0")
        check(
            self.embed_size % self.num_heads == 0,
            f"embed_size ({self.embed_size}) must be a multiple of num_heads ({self.num_heads})",
        )
        check(all(h > 0 for h in self.hidden_sizes), "hidden_sizes must be positive")


class AttentionComm(TorchRLModule, ValueFunctionAPI):
    """Embed -> attend over {self, peers} -> policy and value heads."""

    options_class = AttentionCommOptions

    def setup(self) -> None:
        space = self.observation_space
        if not (isinstance(space, gym.spaces.Dict) and set(KEYS) <= set(space.spaces)):
            raise ValueError(
                f"attention_comm needs observations with keys {KEYS} (the env registered "
                f"with its peers view), got {space}"
            )
        own, peers = space.spaces["observations"], space.spaces["peers"]
        if not (isinstance(own, gym.spaces.Box) and len(own.shape) == 1):
            raise ValueError(f"attention_comm needs flat vector observations, got {own}")
        if peers.shape[-1] != own.shape[0]:
            raise ValueError("attention_comm needs peers observed like the agent itself")
        opts = own_options(AttentionCommOptions, self.model_config)
        self.embed = mlp([own.shape[0], opts.embed_size], opts.activation)
        self.attention = nn.MultiheadAttention(opts.embed_size, opts.num_heads, batch_first=True)
        self.trunk = mlp([2 * opts.embed_size, *opts.hidden_sizes], opts.activation)
        self.pi_head = nn.Linear(opts.hidden_sizes[-1], dist_inputs_size(self.action_space))
        self.value_head = nn.Linear(opts.hidden_sizes[-1], 1)

    def attend(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Features `[B, H]` and attention weights `[B, 1 + peers]` (self first)."""
        own = self.embed(obs["observations"])  # [B, E]
        peers = self.embed(obs["peers"])  # [B, P, E]
        keys = torch.cat([own[:, None], peers], dim=1)
        present = obs["peers_mask"].bool()
        ignore = torch.cat([torch.zeros_like(present[:, :1]), ~present], dim=1)  # self: kept
        message, weights = self.attention(own[:, None], keys, keys, key_padding_mask=ignore)
        features = self.trunk(torch.cat([own, message[:, 0]], dim=-1))
        return features, weights[:, 0]

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        features, _ = self.attend(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.pi_head(features), Columns.EMBEDDINGS: features}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        features = embeddings if embeddings is not None else self.attend(batch[Columns.OBS])[0]
        return self.value_head(features).squeeze(-1)
