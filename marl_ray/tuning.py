"""The experiment file's `tune` block as Ray Tune objects: scheduler and search algorithm."""

from __future__ import annotations

from typing import Any

from ray import tune

from envs.schema import ConfigError
from marl_ray.config import ExperimentConfig, TuneSection, metric_key
from marl_ray.search_space import to_param_space


def search_domains(section: TuneSection) -> dict[str, Any]:
    """Tune domains for every searched key: the search space plus PBT's mutated keys (PBT
    draws their first values from the mutation specs)."""
    specs = dict(section.search_space)
    if section.scheduler == "pbt":
        for key, spec in section.pbt.hyperparam_mutations.items():
            specs.setdefault(key, spec)
    return to_param_space(specs)


def scheduler(section: TuneSection):
    """The trial scheduler; metric and mode come from the `TuneConfig`."""
    if section.scheduler == "asha":
        a = section.asha
        return tune.schedulers.ASHAScheduler(
            time_attr="training_iteration",
            max_t=a.max_t,
            grace_period=a.grace_period,
            reduction_factor=a.reduction_factor,
        )
    if section.scheduler == "pbt":
        p = section.pbt
        return tune.schedulers.PopulationBasedTraining(
            time_attr="training_iteration",
            perturbation_interval=p.perturbation_interval,
            # Trials read sampled values from the param space's "search" mapping.
            hyperparam_mutations={"search": to_param_space(p.hyperparam_mutations)},
            quantile_fraction=p.quantile_fraction,
            resample_probability=p.resample_probability,
            synch=p.synch,
        )
    return None


def search_algorithm(section: TuneSection, seed: int | None):
    """Seeded, so the same experiment file samples the same trials."""
    if section.search_alg == "random":
        from ray.tune.search import BasicVariantGenerator

        return BasicVariantGenerator(random_state=seed)
    try:
        import optuna  # noqa: F401
        from ray.tune.search.optuna import OptunaSearch
    except ImportError:
        raise ConfigError(
            "tune.search_alg: optuna needs the optuna package; install it with "
            "pip install 'marl-ray[optuna]' (or use search_alg: random)"
        ) from None
    from optuna.samplers import TPESampler

    # metric and mode come from the TuneConfig
    return OptunaSearch(sampler=TPESampler(seed=seed))


def tune_config(exp: ExperimentConfig, search: bool) -> tune.TuneConfig:
    """One trial for `train`; the whole search (scheduler, searcher) for `tune`."""
    if not search:
        return tune.TuneConfig(num_samples=1)
    section = exp.tune
    return tune.TuneConfig(
        metric=metric_key(section.metric),
        mode=section.mode,
        num_samples=section.num_samples,
        max_concurrent_trials=section.max_concurrent_trials,
        scheduler=scheduler(section),
        search_alg=search_algorithm(section, exp.seed),
        # Our trainables change learning rate and entropy in place (PBT explore).
        reuse_actors=section.scheduler == "pbt",
    )
