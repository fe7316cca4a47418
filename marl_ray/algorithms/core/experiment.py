"""Builds our algorithms' typed configs from an experiment file.

Each algorithm's frozen config dataclass is the one place its settings and defaults are
declared; this module maps the experiment's shared keys onto it and lets `training.extra` set
the fields the algorithm names, rejecting everything else with the allowed keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from envs.schema import ConfigError, check, from_mapping
from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.algorithms.core.policy_network import PolicyModelConfig
from marl_ray.config import ExperimentConfig

T = TypeVar("T")

# Experiment training keys -> the field names our actor-critic configs use.
ACTOR_CRITIC_TRAINING = {
    "lr": "lr",
    "gamma": "gamma",
    "entropy_coeff": "entropy_coef",
    "vf_loss_coeff": "value_coef",
    "grad_clip": "grad_clip",
}
NETWORK_EXTRA = ("encoder", "conv_channels")


def own_algorithm_config(
    cls: type[T],
    exp: ExperimentConfig,
    *,
    algorithm: str,
    extra_keys: tuple[str, ...],
    training_keys: dict[str, str],
    workers: str,
    envs_per_worker: str | None,
    cpus_per_worker: str,
    learner_gpus: int | None = None,
    network_extra: tuple[str, ...] = NETWORK_EXTRA,
    build_network: Callable[[ExperimentConfig, dict[str, Any]], Any] | None = None,
    policies: bool = False,
) -> T:
    """`cls` filled from `exp`: env, network, the `training_keys` that are set,
    `training.extra` limited to `extra_keys` + `network_extra`, and `resources` onto the
    `workers` / `envs_per_worker` / `cpus_per_worker` fields. The network is
    `build_network(exp, network extras)`; by default the MLP of `model` with
    `training.extra.encoder/conv_channels`. With `policies`, `multi_agent.policies` goes
    into the config's `policies` field. What the algorithm accepts (policy setups, modules,
    agents that join and leave) is checked by the experiment itself (the registry)."""
    t, r = exp.training, exp.resources
    allowed_extra = (*extra_keys, *network_extra)
    set_keys = [
        f.name
        for f in dataclasses.fields(t)
        if f.name != "extra" and getattr(t, f.name) is not None
    ]
    unused = [k for k in set_keys if k not in training_keys]
    check(
        not unused,
        f"{algorithm} does not use training.{', training.'.join(unused)}; its keys are "
        f"training.{', training.'.join(training_keys)} and "
        f"training.extra.{{{', '.join(allowed_extra)}}}",
    )
    extra = dict(t.extra)
    unknown = sorted(set(extra) - set(allowed_extra))
    if unknown:
        raise ConfigError(
            f"unknown key training.extra.{unknown[0]}; allowed keys in training.extra: "
            f"{', '.join(allowed_extra)}"
        )
    network = (build_network or _mlp_network)(
        exp, {k: extra.pop(k) for k in network_extra if k in extra}
    )
    values: dict[str, Any] = {
        "env": exp.env.name,
        "env_config": exp.env.core_config,
        "network": network,
        "seed": exp.seed or 0,
        workers: r.num_env_runners,
        cpus_per_worker: r.num_cpus_per_env_runner,
        **{training_keys[k]: getattr(t, k) for k in set_keys},
        **extra,
    }
    if policies:
        values["policies"] = exp.multi_agent.policies
    if envs_per_worker:
        values[envs_per_worker] = r.num_envs_per_env_runner
    if learner_gpus is not None:
        values["learner_gpus"] = learner_gpus
    try:
        return from_mapping(cls, values)
    except ConfigError as exc:
        raise ConfigError(f"{algorithm}: {exc}") from None


def _mlp_network(exp: ExperimentConfig, extra: dict[str, Any]) -> NetworkConfig:
    return from_mapping(
        NetworkConfig,
        {
            "hidden_sizes": list(exp.model.hidden_sizes),
            "activation": "tanh" if exp.model.activation == "linear" else exp.model.activation,
            **extra,
        },
        where="training.extra",
    )


def policy_model(exp: ExperimentConfig, extra: dict[str, Any]) -> PolicyModelConfig:
    """The multi-agent core's network from `model`: the default MLP keys, or an RLlib
    module's name and options with the same meaning (validated by that module's own options
    class); `training.extra.encoder/conv_channels` for image observations."""
    model = exp.model
    activation = "tanh" if model.activation == "linear" else model.activation
    values: dict[str, Any] = {
        "hidden_sizes": list(model.hidden_sizes),
        "activation": activation,
        "shared_trunk": model.vf_share_layers,
    }
    if model.module != "default":
        from marl_ray.rllib.modules import module_options, module_view

        options = module_options(model.module, model.options)
        values = {
            "shared_trunk": bool(options.get("shared_trunk", False)),
            "hidden_sizes": options["hidden_sizes"],
            "critic_hidden_sizes": options.get("critic_hidden_sizes")
            or options.get("value_hidden_sizes"),
            "activation": options["activation"],
            "critic_input": "global_state" if model.module == "centralized_critic" else "own",
            "initial_log_std": options.get("initial_log_std", 0.0),
        }
        if module_view(model.module) == "peers":  # attention_comm
            values |= {
                "peers": True,
                "embed_size": options["embed_size"],
                "num_heads": options["num_heads"],
            }
    return from_mapping(PolicyModelConfig, {**values, **extra}, where="model.options")
