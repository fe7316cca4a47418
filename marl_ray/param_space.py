"""What Tune hands each trial: `{"experiment": {...}, "search": {dotted key: value},
"learner_gpus": N}`. Trials rebuild their typed experiment from it."""

from __future__ import annotations

from typing import Any

from marl_ray.config import ExperimentConfig, build_experiment


def make_param_space(exp: ExperimentConfig, learner_gpus: int, search: bool) -> dict[str, Any]:
    from marl_ray.tuning import search_domains

    experiment = exp.to_dict()
    # Tune would expand the raw specs ({grid_search: [...]}) itself; trials get values only.
    experiment["tune"]["search_space"] = {}
    return {
        "experiment": experiment,
        "learner_gpus": learner_gpus,
        "search": search_domains(exp.tune) if search else {},
    }


def experiment_from_param_space(config: dict[str, Any]) -> tuple[ExperimentConfig, int]:
    """The trial's experiment (search values applied) and its learner GPU count."""
    exp = build_experiment(config["experiment"], values=config.get("search") or {})
    return exp, int(config.get("learner_gpus", 0))
