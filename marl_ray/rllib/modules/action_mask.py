"""`action_mask`: for observations `{"observations": ..., "action_mask": ...}` (Discrete
actions). Invalid actions get logit -inf: they are never sampled, and their probability (and
so their gradient) in the loss is exactly zero. Options as for `mlp`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from ray.rllib.core.columns import Columns

from marl_ray.rllib.modules.mlp import ActorCriticMLP

MASK_KEY = "action_mask"
OBS_KEY = "observations"


class ActionMaskMLP(ActorCriticMLP):
    """`ActorCriticMLP` over `observations`, with the mask applied to its logits."""

    def setup(self) -> None:
        space = self.observation_space
        if not (isinstance(space, gym.spaces.Dict) and {OBS_KEY, MASK_KEY} <= set(space.spaces)):
            raise ValueError(
                f"the action_mask module needs Dict observations with keys {OBS_KEY!r} and "
                f"{MASK_KEY!r}, got {space}"
            )
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise ValueError(
                f"the action_mask module needs Discrete actions, got {self.action_space}"
            )
        self.observation_space = space.spaces[OBS_KEY]  # the MLP sees the plain observations
        super().setup()
        self.observation_space = space

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        out = super()._forward({Columns.OBS: obs[OBS_KEY]}, **kwargs)
        mask = obs[MASK_KEY].bool()
        logits = out[Columns.ACTION_DIST_INPUTS]
        out[Columns.ACTION_DIST_INPUTS] = logits.masked_fill(~mask, float("-inf"))
        return out

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        return super().compute_values({Columns.OBS: batch[Columns.OBS][OBS_KEY]}, embeddings)
