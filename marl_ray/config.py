"""The experiment file: a typed, validated schema for one YAML file.

`load_experiment(path, overrides)` reads the file, applies `--set key=value` overrides and
returns a frozen `ExperimentConfig`; every error names the bad key and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_origin, get_type_hints

import yaml

import envs
from envs import plugins
from envs.plugins import WRAPPERS_KEY
from envs.schema import ConfigError, check, from_mapping
from marl_ray.algorithms.stall import DEFAULT_STALL_TIMEOUT_S
from marl_ray.storage import check_storage_path
from marl_ray.trainables import ALGORITHMS, MODULES, POLICY_SETUPS, REGISTRY

SEARCH_TYPES = ("grid_search", "choice", "uniform", "loguniform", "randint")

# Short metric names users write, and the RLlib result keys they stand for.
METRIC_KEYS = {
    "episode_return_mean": "env_runners/episode_return_mean",
    "episode_len_mean": "env_runners/episode_len_mean",
    "success_rate": "env_runners/success_rate",
    "timesteps": "num_env_steps_sampled_lifetime",
}


SELF_PLAY_FIGURES = ("win_rate_vs_first", "win_rate_vs_pool", "win_rate_vs_scripted")
"""What `marl-ray evaluate` measures of a self-play checkpoint besides returns."""


def metric_key(name: str) -> str:
    """The result key for a short metric name; full keys (with '/') pass through."""
    if name in METRIC_KEYS or "/" in name:
        return METRIC_KEYS.get(name, name)
    raise ConfigError(
        f"unknown metric {name!r}; use one of {', '.join(METRIC_KEYS)} or a full RLlib "
        "result key such as 'env_runners/episode_return_mean'"
    )


def result_value(result: dict[str, Any], key: str) -> Any:
    """Reads a '/'-separated key (`env_runners/success_rate`) from a nested Tune result."""
    if key in result:
        return result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@dataclass(frozen=True)
class EnvSection:
    name: str = "grid_world"
    """One of our envs (`marl-ray envs` lists them), a Gymnasium id, an import path
    `package.module:attribute` or `package:GymnasiumId`, or a name given to
    `marl_ray.register_env` (README, "Your own environment")."""
    config: dict[str, Any] = field(default_factory=dict)
    """The env's own keys: checked against its config class, or passed to a user env's
    factory as keyword arguments."""
    wrappers: list[Any] = field(default_factory=list)
    """SuperSuit wrappers applied in order to a user env: `[{name: {argument: value}}]`."""

    def __post_init__(self) -> None:
        check(
            WRAPPERS_KEY not in self.config,
            f"env.config.{WRAPPERS_KEY} is reserved; list wrappers under env.wrappers",
        )
        if self.wrappers and not plugins.is_user_env(self.name):
            raise ConfigError(
                f"env.wrappers apply to user envs (import paths, Gymnasium ids, registered "
                f"names); {self.name!r} is one of ours, configured by env.config"
            )
        envs.make_config(self.name, self.core_config)

    @property
    def core_config(self) -> dict[str, Any]:
        """What the env registry builds the env from: `config`, and the wrappers if any."""
        return (
            {**self.config, WRAPPERS_KEY: list(self.wrappers)}
            if self.wrappers
            else dict(self.config)
        )


@dataclass(frozen=True)
class SelfPlaySection:
    win_rate_threshold: float = 0.75
    """Main's win rate (in one iteration's episodes) that adds a snapshot of it to the pool."""
    min_episodes: int = 20
    """Episodes an iteration needs before its win rate counts."""

    def __post_init__(self) -> None:
        check(0 < self.win_rate_threshold <= 1, "self_play.win_rate_threshold must be in (0, 1]")
        check(self.min_episodes >= 1, "self_play.min_episodes must be >= 1")


@dataclass(frozen=True)
class MultiAgentSection:
    policies: Literal[POLICY_SETUPS] = "shared"
    """shared: one policy for every agent; independent: one policy per agent; by_group: one
    policy per agent type, the agent id without its index (`consumer_2` -> `consumer`);
    self_play: `main` learns against a pool of its frozen snapshots (competitive envs)."""
    self_play: SelfPlaySection = field(default_factory=SelfPlaySection)


@dataclass(frozen=True)
class ModelSection:
    module: Literal[MODULES] = "default"
    """default: RLlib's own MLP built from the keys below (our algorithms use them too);
    otherwise one of marl_ray's RLModules, configured by `options`."""
    options: dict[str, Any] = field(default_factory=dict)
    """The module's keyword options, e.g. {hidden_sizes: [64, 64], shared_trunk: false}."""
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    activation: Literal["tanh", "relu", "silu", "linear"] = "tanh"
    vf_share_layers: bool = False
    """Share the MLP trunk between policy and value function."""

    def __post_init__(self) -> None:
        check(
            all(h > 0 for h in self.hidden_sizes),
            f"model.hidden_sizes must be positive, got {self.hidden_sizes}",
        )
        check(
            self.module != "default" or not self.options,
            "model.options configure a model.module (mlp, action_mask, centralized_critic, "
            "grid_cnn, attention_comm); the default model "
            "takes hidden_sizes, activation and vf_share_layers",
        )


@dataclass(frozen=True)
class TrainingSection:
    """Training hyperparameters; unset (null) keys keep the algorithm's default."""

    lr: float | None = None
    gamma: float | None = None
    train_batch_size: int | None = None
    """Env steps collected per training iteration (per learner)."""
    minibatch_size: int | None = None
    num_epochs: int | None = None
    entropy_coeff: float | None = None
    grad_clip: float | None = None
    gae_lambda: float | None = None
    """PPO/APPO GAE lambda."""
    clip_param: float | None = None
    vf_loss_coeff: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Further keyword arguments for the RLlib algorithm's `.training(...)`, as named there."""

    def __post_init__(self) -> None:
        check(self.lr is None or self.lr > 0, f"training.lr must be > 0, got {self.lr}")
        check(
            self.gamma is None or 0 < self.gamma <= 1,
            f"training.gamma must be in (0, 1], got {self.gamma}",
        )
        for name in ("train_batch_size", "minibatch_size", "num_epochs"):
            value = getattr(self, name)
            check(value is None or value >= 1, f"training.{name} must be >= 1, got {value}")


@dataclass(frozen=True)
class ResourcesSection:
    num_env_runners: int = 1
    """Sampling actors; 0 samples in the trial's own process."""
    num_envs_per_env_runner: int = 1
    num_cpus_per_env_runner: float = 1.0
    num_gpus: int | Literal["auto"] = "auto"
    """GPUs for the learner: 'auto' takes one when the cluster has one, else runs on CPU."""
    placement_strategy: Literal["PACK", "SPREAD", "STRICT_SPREAD"] = "PACK"
    """How the trial's placement group (trial, learner or server, workers) is laid over
    nodes: PACK on as few nodes as fit, SPREAD over nodes where it can, STRICT_SPREAD one
    bundle per node (needs as many nodes as bundles)."""
    stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S
    """Our own algorithms (not ALPHAZERO, whose games may run long): a trial whose actors
    return no work for this long fails, and Tune restores it from its last checkpoint (a
    replacement of an actor on a lost node may otherwise wait for its bundle for ever)."""

    def __post_init__(self) -> None:
        check(self.num_env_runners >= 0, "resources.num_env_runners must be >= 0")
        check(self.num_envs_per_env_runner >= 1, "resources.num_envs_per_env_runner must be >= 1")
        check(self.num_cpus_per_env_runner >= 0, "resources.num_cpus_per_env_runner must be >= 0")
        check(self.stall_timeout_s > 0, "resources.stall_timeout_s must be > 0 seconds")
        check(
            self.num_gpus == "auto" or self.num_gpus >= 0,
            f"resources.num_gpus must be 'auto' or >= 0, got {self.num_gpus}",
        )


@dataclass(frozen=True)
class StopSection:
    """A trial stops at the first criterion reached."""

    timesteps_total: int | None = None
    """Env steps sampled (one step of the env, all agents)."""
    time_total_s: float | None = None
    training_iteration: int | None = None
    metric: dict[str, float] = field(default_factory=dict)
    """Thresholds, e.g. {success_rate: 0.95}: stop once the metric reaches the value."""

    def __post_init__(self) -> None:
        for name in self.metric:
            metric_key(name)
        check(
            any([self.timesteps_total, self.time_total_s, self.training_iteration]),
            "stop needs at least one of timesteps_total, time_total_s, training_iteration "
            "(a metric threshold alone may never be reached)",
        )

    def criteria(self) -> dict[str, float]:
        """Tune stop criteria keyed by result keys."""
        out: dict[str, float] = {}
        if self.timesteps_total:
            out[METRIC_KEYS["timesteps"]] = self.timesteps_total
        if self.time_total_s:
            out["time_total_s"] = self.time_total_s
        if self.training_iteration:
            out["training_iteration"] = self.training_iteration
        out.update({metric_key(k): v for k, v in self.metric.items()})
        return out


@dataclass(frozen=True)
class CheckpointSection:
    frequency: int = 0
    """Checkpoint every N training iterations (0: only at the end)."""
    at_end: bool = True
    num_to_keep: int | None = 2

    def __post_init__(self) -> None:
        check(self.frequency >= 0, "checkpoint.frequency must be >= 0")
        check(self.num_to_keep is None or self.num_to_keep >= 1, "checkpoint.num_to_keep >= 1")


@dataclass(frozen=True)
class AshaSection:
    """Asynchronous successive halving over training iterations."""

    max_t: int = 100
    """Iterations a trial may run at most."""
    grace_period: int = 1
    """Iterations every trial runs before it can be stopped."""
    reduction_factor: float = 2.0

    def __post_init__(self) -> None:
        check(self.max_t >= self.grace_period >= 1, "tune.asha needs max_t >= grace_period >= 1")
        check(self.reduction_factor > 1, "tune.asha.reduction_factor must be > 1")


@dataclass(frozen=True)
class PbtSection:
    """Population based training: exploit (copy a better trial's checkpoint) and explore
    (perturb or resample the mutated keys) every `perturbation_interval` iterations."""

    perturbation_interval: int = 5
    hyperparam_mutations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Dotted experiment keys to choice / uniform / loguniform / randint specs."""
    quantile_fraction: float = 0.25
    resample_probability: float = 0.25
    synch: bool = False
    """Perturb all trials together once each has reached the interval (Ray's synchronous
    PBT): no trial exploits a stale score or a donor that has no checkpoint yet."""

    def __post_init__(self) -> None:
        check(self.perturbation_interval >= 1, "tune.pbt.perturbation_interval must be >= 1")
        check(0 < self.quantile_fraction <= 0.5, "tune.pbt.quantile_fraction must be in (0, 0.5]")
        for key, spec in self.hyperparam_mutations.items():
            check_search_spec(key, spec, where="tune.pbt.hyperparam_mutations")
            check("grid_search" not in spec, f"tune.pbt.hyperparam_mutations.{key}: no grid_search")


@dataclass(frozen=True)
class TuneSection:
    metric: str = "episode_return_mean"
    mode: Literal["max", "min"] = "max"
    num_samples: int = 1
    max_concurrent_trials: int | None = None
    search_space: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Dotted experiment keys to one of: grid_search: [..], choice: [..], uniform: [lo, hi],
    loguniform: [lo, hi], randint: [lo, hi]."""
    scheduler: Literal["none", "asha", "pbt"] = "none"
    asha: AshaSection = field(default_factory=AshaSection)
    pbt: PbtSection = field(default_factory=PbtSection)
    search_alg: Literal["random", "optuna"] = "random"
    """random: Tune's variant generator (grid and random sampling); optuna: TPE (needs the
    `optuna` extra)."""
    max_failures: int = 2
    """Times a failed trial is retried from its last checkpoint."""

    def __post_init__(self) -> None:
        metric_key(self.metric)
        check(self.num_samples >= 1, "tune.num_samples must be >= 1")
        check(self.max_failures >= 0, "tune.max_failures must be >= 0")
        for key, spec in self.search_space.items():
            check_search_spec(key, spec)
        if self.scheduler == "pbt":
            check(
                bool(self.pbt.hyperparam_mutations),
                "tune.scheduler: pbt needs tune.pbt.hyperparam_mutations (what to explore)",
            )
        if self.search_alg == "optuna":
            grids = [k for k, spec in self.search_space.items() if "grid_search" in spec]
            check(
                not grids,
                f"tune.search_alg: optuna cannot run grid_search ({', '.join(grids)}); "
                "use choice, or search_alg: random",
            )


@dataclass(frozen=True)
class MlflowSection:
    """Tune's MLflow callback: one MLflow run per trial."""

    tracking_uri: str | None = None
    """Default: a local file store, `<storage_path>/mlruns` (`mlflow ui --backend-store-uri`
    that folder)."""
    experiment_name: str | None = None
    """Default: the experiment's `name`."""
    artifacts: bool = False
    """Upload each trial's folder (checkpoints included) as run artifacts at its end."""


@dataclass(frozen=True)
class WandbSection:
    """Tune's Weights & Biases callback: one W&B run per trial."""

    project: str | None = None
    """Default: the experiment's `name`."""
    mode: Literal["online", "offline"] = "online"
    """offline: runs are written under each trial's folder (`wandb/offline-run-*`) and need
    no network or API key; upload them later with `wandb sync`."""
    group: str | None = None
    """Default: the run folder's name, so a run's trials (seeds, variants) group together."""
    artifacts: bool = False
    """Upload checkpoints as W&B artifacts."""


@dataclass(frozen=True)
class LoggingSection:
    """Where results go besides the run folder's `progress.csv` and `result.json` (always
    written: reports and `compare` read them)."""

    tensorboard: bool = True
    """TensorBoard event files in every trial's folder: `tensorboard --logdir RUN_DIR`."""
    mlflow: MlflowSection | None = None
    wandb: WandbSection | None = None


@dataclass(frozen=True)
class CompareSection:
    """`marl-ray compare`: variants of this experiment, each trained on several seeds and
    evaluated on the same seeded episodes (README, "Comparing algorithms")."""

    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Variant name -> {dotted experiment key: value}, overrides of this file, e.g.
    {mappo: {model.module: centralized_critic}, ippo: {model.module: mlp}}."""
    seeds: int = 5
    """Training seeds per variant: `seed`, `seed + 1`, ..."""
    eval_episodes: int = 100
    """Evaluation episodes per final checkpoint, the same episodes for every run."""
    eval_seed: int = 1_000_000
    """Seed of the evaluation episodes; kept clear of every training seed."""
    metric: str | None = None
    """The figure compared on the greedy evaluation; default `tune.metric`. Self-play
    checkpoints also have win_rate_vs_first, win_rate_vs_pool and win_rate_vs_scripted."""
    scripted_opponent: str | None = None
    """Self-play: a scripted player (a name the env's `baseline_actions` takes) that every
    final `main` also plays (win_rate_vs_scripted), a yardstick outside each run's pool."""

    def __post_init__(self) -> None:
        check(self.seeds >= 1, f"compare.seeds must be >= 1, got {self.seeds}")
        allowed = ("episode_return_mean", "episode_len_mean", "success_rate", *SELF_PLAY_FIGURES)
        check(
            self.metric is None or self.metric in allowed,
            f"compare.metric={self.metric!r} is not an evaluation figure; allowed: "
            + ", ".join(allowed),
        )
        check(self.eval_episodes >= 1, "compare.eval_episodes must be >= 1")
        for name, overrides in self.variants.items():
            check(
                isinstance(name, str) and name.replace("-", "_").isidentifier(),
                f"compare.variants: {name!r} must be a name of letters, digits, _ or -",
            )
            check(
                isinstance(overrides, dict),
                f"compare.variants.{name} must map dotted keys to values, got {overrides!r}",
            )
            for key in overrides:
                check(
                    key.split(".")[0] not in ("compare", "name", "storage_path", "seed"),
                    f"compare.variants.{name}: {key} is set by compare itself",
                )
                check_key_path(key, ExperimentConfig)


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: what to train, on what, with which resources, until when."""

    name: str = "experiment"
    algorithm: Literal[ALGORITHMS] = "PPO"
    """A name from the algorithm registry (`marl_ray/trainables.py`): RLlib's or our own."""
    env: EnvSection = field(default_factory=EnvSection)
    multi_agent: MultiAgentSection = field(default_factory=MultiAgentSection)
    model: ModelSection = field(default_factory=ModelSection)
    training: TrainingSection = field(default_factory=TrainingSection)
    resources: ResourcesSection = field(default_factory=ResourcesSection)
    stop: StopSection = field(default_factory=lambda: StopSection(training_iteration=10))
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    tune: TuneSection = field(default_factory=TuneSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    compare: CompareSection = field(default_factory=CompareSection)
    seed: int | None = 0
    storage_path: str = "results"
    """Where runs are written: a local folder (relative to the working directory) or a
    cloud URI (s3://bucket/runs, gs://..., file:///shared/runs) that every node reaches."""

    def __post_init__(self) -> None:
        dynamic = self.env.name in envs.names() and envs.core_class(self.env.name).dynamic_agents
        problem = REGISTRY[self.algorithm].problem(
            self.multi_agent.policies, self.model.module, dynamic
        )
        check(problem is None, problem or "")
        for key in self.tune.pbt.hyperparam_mutations:
            check_key_path(key, type(self))
        storage_error = check_storage_path(self.storage_path)
        check(storage_error is None, storage_error or "")
        for key in self.tune.search_space:
            check_key_path(key, type(self))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_search_spec(key: str, spec: Any, where: str = "tune.search_space") -> None:
    where = f"{where}.{key}"
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ConfigError(
            f"{where} must be a mapping with exactly one of {', '.join(SEARCH_TYPES)}, got {spec!r}"
        )
    ((kind, args),) = spec.items()
    if kind not in SEARCH_TYPES:
        raise ConfigError(
            f"{where}: unknown search type {kind!r}; allowed: {', '.join(SEARCH_TYPES)}"
        )
    if kind in ("grid_search", "choice"):
        check(isinstance(args, list) and len(args) >= 1, f"{where}.{kind} needs a non-empty list")
        return
    check(
        isinstance(args, list) and len(args) == 2 and all(isinstance(a, int | float) for a in args),
        f"{where}.{kind} needs [low, high], got {args!r}",
    )
    low, high = args
    check(low < high, f"{where}.{kind}: low must be < high, got {args!r}")
    check(kind != "loguniform" or low > 0, f"{where}.loguniform needs low > 0, got {low}")
    check(
        kind != "randint" or all(isinstance(a, int) for a in args),
        f"{where}.randint needs integer bounds, got {args!r}",
    )


def check_key_path(dotted: str, cls: type) -> None:
    """Raises unless `dotted` names a field of the experiment schema (free below mappings)."""
    parts = dotted.split(".")
    current: Any = cls
    for i, part in enumerate(parts):
        names = [f.name for f in dataclasses.fields(current)]
        if part not in names:
            where = ".".join(parts[:i]) or "the experiment file"
            raise ConfigError(
                f"unknown key {dotted!r}: {part!r} is not in {where}; allowed: {', '.join(names)}"
            )
        tp = get_type_hints(current)[part]
        if dataclasses.is_dataclass(tp):
            current = tp
            continue
        if i < len(parts) - 1 and get_origin(tp) is not dict:
            raise ConfigError(f"unknown key {dotted!r}: {'.'.join(parts[: i + 1])} is a value")
        return


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Sets `data[a][b][c] = value` for `dotted='a.b.c'`, creating mappings on the way."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {dotted!r}: {part!r} holds {child!r}, not a mapping")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """'training.lr=1e-3' -> ('training.lr', 0.001); values are parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value (e.g. training.lr=1e-3), got {text!r}")
    value = yaml.safe_load(raw) if raw.strip() else ""
    if isinstance(value, str):
        value = _number_or_string(value)
    return key.strip(), value


def _number_or_string(raw: str) -> Any:
    # YAML 1.1 reads '1e-3' as a string; users mean a number.
    try:
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        return raw


def build_experiment(
    data: dict[str, Any],
    overrides: list[str] | None = None,
    values: dict[str, Any] | None = None,
) -> ExperimentConfig:
    """Validates an experiment mapping after applying `key=value` overrides (CLI `--set`)
    and then `values` (dotted key -> value, e.g. a Tune trial's sampled search space)."""
    data = copy.deepcopy(data)
    pairs = [parse_override(text) for text in overrides or []] + list((values or {}).items())
    for key, value in pairs:
        check_key_path(key, ExperimentConfig)
        set_path(data, key, value)
    return from_mapping(ExperimentConfig, _numbers(data))


def _numbers(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _numbers(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_numbers(v) for v in node]
    if isinstance(node, str):
        return _number_or_string(node) if _looks_numeric(node) else node
    return node


def _looks_numeric(text: str) -> bool:
    t = text.strip().lower().lstrip("+-")
    return bool(t) and (t[0].isdigit() or t[0] == ".") and all(c in "0123456789.e+-" for c in t)


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Reads and validates an experiment file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, got {type(data).__name__}")
    try:
        return build_experiment(data, overrides)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
