"""Reads the experiment-file keys every one of marl_ray's own algorithms shares."""

from __future__ import annotations

from typing import Any

from envs.schema import check
from marl_ray.algorithms.core.networks import NetworkConfig
from marl_ray.config import ExperimentConfig

# Training keys that belong to RLlib's minibatch algorithms only.
MINIBATCH_KEYS = ("train_batch_size", "minibatch_size", "num_epochs", "gae_lambda", "clip_param")


def shared_settings(
    exp: ExperimentConfig, algorithm: str, defaults: Any, extra: Any, extra_keys: str
) -> dict[str, Any]:
    """Keyword arguments common to our algorithm configs: env, workers, optimisation keys
    (falling back to `defaults`), network. Rejects training keys the algorithm ignores."""
    t = exp.training
    unused = [name for name in MINIBATCH_KEYS if getattr(t, name) is not None]
    check(
        not unused,
        f"{algorithm} does not use training.{', training.'.join(unused)}; its keys are lr, "
        f"gamma, entropy_coeff, vf_loss_coeff, grad_clip and training.extra.{{{extra_keys}}}",
    )

    def pick(value, name):
        return getattr(defaults, name) if value is None else value

    return {
        "env": exp.env.name,
        "env_config": dict(exp.env.config),
        "gamma": pick(t.gamma, "gamma"),
        "lr": pick(t.lr, "lr"),
        "value_coef": pick(t.vf_loss_coeff, "value_coef"),
        "entropy_coef": pick(t.entropy_coeff, "entropy_coef"),
        "grad_clip": pick(t.grad_clip, "grad_clip"),
        "network": NetworkConfig(
            encoder=extra.encoder,
            hidden_sizes=list(exp.model.hidden_sizes),
            activation="tanh" if exp.model.activation == "linear" else exp.model.activation,
            conv_channels=list(extra.conv_channels),
        ),
        "seed": exp.seed or 0,
    }


def worker_resources(exp: ExperimentConfig) -> tuple[int, int, float]:
    """(workers, env copies per worker, CPUs per worker) from `resources`."""
    r = exp.resources
    return r.num_env_runners, r.num_envs_per_env_runner, r.num_cpus_per_env_runner
