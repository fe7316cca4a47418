"""Custom torch RLModules, chosen in the experiment file with `model.module` and configured
with `model.options` (validated against the module's own options dataclass)."""

from __future__ import annotations

from typing import Any

from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs.schema import ConfigError, from_mapping
from marl_ray.rllib.modules.action_mask import ActionMaskMLP
from marl_ray.rllib.modules.attention_comm import AttentionComm
from marl_ray.rllib.modules.centralized_critic import CentralizedCriticModule
from marl_ray.rllib.modules.grid_cnn import GridCNN
from marl_ray.rllib.modules.mlp import ActorCriticMLP

MODULES: dict[str, type] = {
    "mlp": ActorCriticMLP,
    "action_mask": ActionMaskMLP,
    "centralized_critic": CentralizedCriticModule,
    "grid_cnn": GridCNN,
    "attention_comm": AttentionComm,
}
# The observation view (envs.observation_views) each module needs; others see their own.
MODULE_VIEWS = {"centralized_critic": "global_state", "attention_comm": "peers"}


def module_view(name: str) -> str:
    return MODULE_VIEWS.get(name, "own")


def module_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` checked against the module's options dataclass, defaults filled in."""
    if name not in MODULES:
        raise ConfigError(f"model.module={name!r}; allowed: default, {', '.join(MODULES)}")
    options_class = MODULES[name].options_class
    return dict(from_mapping(options_class, options, where="model.options").__dict__)


def module_spec(name: str, options: dict[str, Any]) -> RLModuleSpec:
    """The spec RLlib builds every policy's module from."""
    return RLModuleSpec(module_class=MODULES[name], model_config=module_options(name, options))
