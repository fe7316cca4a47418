"""`mlp`: an actor-critic MLP RLModule (PPO, APPO, IMPALA), our custom model on the new stack.

Options: `hidden_sizes`, `activation`, `shared_trunk` (one trunk for policy and value, or a
separate value trunk of `value_hidden_sizes`, default the same sizes), `initial_log_std`
(Box actions: the Gaussian's starting log standard deviation, the same in every state; the
default 0 explores with std 1, which for actions clipped to [-1, 1] is mostly noise).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from envs.schema import check

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "silu": nn.SiLU}


@dataclass(frozen=True)
class MLPOptions:
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    activation: Literal["tanh", "relu", "silu"] = "tanh"
    shared_trunk: bool = False
    value_hidden_sizes: list[int] | None = None
    initial_log_std: float = 0.0

    def __post_init__(self) -> None:
        sizes = [*self.hidden_sizes, *(self.value_hidden_sizes or [])]
        check(all(h > 0 for h in sizes), f"hidden sizes must be positive, got {sizes}")
        check_initial_log_std(self.initial_log_std)


def check_initial_log_std(value: float) -> None:
    check(-5.0 <= value <= 2.0, f"initial_log_std must be in [-5, 2], got {value}")


def own_options(options_class: type, model_config: Any):
    """The module's options from RLlib's `model_config`, which RLlib merges with its own
    default keys (validated earlier, by `marl_ray.rllib.modules.module_options`)."""
    names = {f.name for f in dataclasses.fields(options_class)}
    return options_class(**{k: v for k, v in dict(model_config or {}).items() if k in names})


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers of `sizes` (input first), each followed by the activation."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


def dist_inputs_size(space: gym.Space) -> int:
    """Logits for Discrete, means and log stds for Box (RLlib's default distributions)."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, gym.spaces.Box):
        return 2 * int(np.prod(space.shape))
    raise ValueError(f"unsupported action space {space}; use Discrete or Box")


def set_initial_log_std(head: nn.Linear, log_std: float) -> None:
    """Makes the log-std half of a Gaussian head output `log_std` in every state at first."""
    half = head.out_features // 2
    with torch.no_grad():
        head.weight[half:].zero_()
        head.bias[half:].fill_(log_std)


class ActorCriticMLP(TorchRLModule, ValueFunctionAPI):
    """Policy logits and state values from flat observations."""

    options_class = MLPOptions

    def setup(self) -> None:
        opts = own_options(MLPOptions, self.model_config)
        obs_dim = int(np.prod(self.observation_space.shape))
        self.trunk = mlp([obs_dim, *opts.hidden_sizes], opts.activation)
        self.pi_head = nn.Linear(opts.hidden_sizes[-1], dist_inputs_size(self.action_space))
        if isinstance(self.action_space, gym.spaces.Box):
            set_initial_log_std(self.pi_head, opts.initial_log_std)
        self.shared_trunk = opts.shared_trunk
        if not opts.shared_trunk:
            sizes = opts.value_hidden_sizes or opts.hidden_sizes
            self.value_trunk = mlp([obs_dim, *sizes], opts.activation)
            self.value_head = nn.Linear(sizes[-1], 1)
        else:
            self.value_head = nn.Linear(opts.hidden_sizes[-1], 1)

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        features = self.trunk(batch[Columns.OBS].flatten(1))
        return {Columns.ACTION_DIST_INPUTS: self.pi_head(features), Columns.EMBEDDINGS: features}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        obs = batch[Columns.OBS].flatten(1)
        if self.shared_trunk:
            features = embeddings if embeddings is not None else self.trunk(obs)
        else:
            features = self.value_trunk(obs)
        return self.value_head(features).squeeze(-1)
