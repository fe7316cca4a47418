"""What a comparison runs: named variants of experiments, the training seeds, the evaluation.

A compare folder holds `compare.yaml` (this spec, every variant's full experiment), one Tune
run folder per variant (`<variant>/`, its trials are the seeds), `evaluation.json` and the
report. The spec is written first, so an interrupted comparison resumes from the folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from envs.schema import ConfigError
from marl_ray.config import (
    SELF_PLAY_FIGURES,
    ExperimentConfig,
    build_experiment,
    load_experiment,
)
from marl_ray.trainables import REGISTRY

SPEC_FILE = "compare.yaml"
MAX_TRAINING_SEED = 999
"""Training seeds stay below this; evaluation seeds start at `compare.eval_seed` (>= 10**6)."""


@dataclass(frozen=True)
class Variant:
    name: str
    experiment: ExperimentConfig


@dataclass(frozen=True)
class CompareSpec:
    name: str
    variants: list[Variant]
    seeds: list[int]
    eval_episodes: int
    eval_seed: int
    metric: str
    """The figure compared first (`compare.metric`, else the base's `tune.metric`)."""
    mode: str
    scripted_opponent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seeds": self.seeds,
            "eval_episodes": self.eval_episodes,
            "eval_seed": self.eval_seed,
            "metric": self.metric,
            "mode": self.mode,
            "scripted_opponent": self.scripted_opponent,
            "variants": {v.name: v.experiment.to_dict() for v in self.variants},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompareSpec:
        variants = [Variant(n, build_experiment(e)) for n, e in data["variants"].items()]
        return cls(
            name=data["name"],
            variants=variants,
            seeds=list(data["seeds"]),
            eval_episodes=int(data["eval_episodes"]),
            eval_seed=int(data["eval_seed"]),
            metric=data["metric"],
            mode=data["mode"],
            scripted_opponent=data.get("scripted_opponent"),
        )

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SPEC_FILE).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def read(cls, folder: Path) -> CompareSpec:
        path = folder / SPEC_FILE
        if not path.is_file():
            raise ConfigError(f"{folder} is not a compare folder (no {SPEC_FILE})")
        return cls.from_dict(yaml.safe_load(path.read_text()))

    def differences(self) -> dict[str, list[Any]]:
        """Dotted keys whose values differ between variants (what is being compared, and
        anything else a fair comparison should hold equal), with each variant's value."""
        flat = [_flatten(v.experiment.to_dict()) for v in self.variants]
        keys = sorted({k for f in flat for k in f} - {"name", "compare.variants"})
        return {
            k: [f.get(k) for f in flat] for k in keys if len({repr(f.get(k)) for f in flat}) > 1
        }


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in ("env.config", "model.options"):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def build_spec(
    files: list[str], overrides: list[str], seeds: int | None, eval_episodes: int | None
) -> CompareSpec:
    """Variants from one file's `compare.variants`, or one per file (named by its `name`,
    or `NAME=FILE`).
    `overrides` (`--set`) apply to every variant; `seeds` and `eval_episodes` override the
    first file's compare block."""
    if not files:
        raise ConfigError("marl-ray compare needs an experiment FILE (or --resume COMPARE_DIR)")
    given = [variant_file(f) for f in files]
    files = [f for _, f in given]
    bases = [load_experiment(f, overrides) for f in files]
    first = bases[0]
    block = first.compare
    if len(files) == 1:
        if len(block.variants) < 2:
            raise ConfigError(
                f"{files[0]}: compare needs two or more variants: list them under "
                "compare.variants (name -> {dotted key: value}), or give several files"
            )
        raw = first.to_dict()
        variants = [
            Variant(
                name, _checked(build_experiment(raw, values=values), f"compare.variants.{name}")
            )
            for name, values in block.variants.items()
        ]
    else:
        with_block = [f for f, e in zip(files, bases, strict=True) if e.compare.variants]
        if with_block:
            raise ConfigError(
                f"{', '.join(with_block)}: give one file with compare.variants, or several "
                "files without (each file is one variant)"
            )
        names = [name or e.name for (name, _), e in zip(given, bases, strict=True)]
        if len(set(names)) < len(names) and not any(name for name, _ in given):
            names = [Path(f).stem for f in files]
        if len(set(names)) < len(names):
            raise ConfigError(f"variant names must differ; got {', '.join(names)}")
        variants = [Variant(n, _checked(e, f)) for n, e, f in zip(names, bases, files, strict=True)]
    n_seeds = seeds if seeds is not None else block.seeds
    episodes = eval_episodes if eval_episodes is not None else block.eval_episodes
    if n_seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {n_seeds}")
    if episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {episodes}")
    base_seed = first.seed or 0
    seed_list = list(range(base_seed, base_seed + n_seeds))
    if seed_list[-1] > MAX_TRAINING_SEED:
        raise ConfigError(
            f"training seeds {seed_list[0]}..{seed_list[-1]} must stay <= {MAX_TRAINING_SEED}, "
            "clear of the evaluation seeds"
        )
    if block.eval_seed < 1_000_000:
        raise ConfigError(
            f"compare.eval_seed must be >= 1000000 (clear of training seeds), got {block.eval_seed}"
        )
    return CompareSpec(
        name=first.name,
        variants=variants,
        seeds=seed_list,
        eval_episodes=episodes,
        eval_seed=block.eval_seed,
        metric=block.metric or first.tune.metric,
        mode="max" if block.metric in SELF_PLAY_FIGURES else first.tune.mode,
        scripted_opponent=block.scripted_opponent,
    )


def variant_file(arg: str) -> tuple[str | None, str]:
    """`NAME=FILE` names a file's variant (default: the experiment's `name`); a plain
    path is `(None, path)`."""
    name, sep, path = arg.partition("=")
    if sep and re.fullmatch(r"[A-Za-z_][\w-]*", name) and not Path(arg).exists():
        return name, path
    return None, arg


def _checked(exp: ExperimentConfig, where: str) -> ExperimentConfig:
    if exp.algorithm == "ALPHAZERO":
        raise ConfigError(
            f"{where}: compare evaluates policies in their env; ALPHAZERO is compared by "
            "match play (marl-ray evaluate --opponent) instead"
        )
    if searched(exp) and "seed" in exp.tune.search_space:
        raise ConfigError(f"{where}: tune.search_space.seed is set by compare itself")
    assert exp.algorithm in REGISTRY
    return exp


def searched(exp: ExperimentConfig) -> bool:
    """A variant with a tune search or scheduler (a PBT population, an ASHA search): each
    seed runs the whole search, and the seed's result is its best trial."""
    return exp.tune.scheduler != "none" or bool(exp.tune.search_space)


def seeded(exp: ExperimentConfig, seeds: list[int]) -> ExperimentConfig:
    """A plain variant as a Tune search over its training seeds (one trial per seed); a
    searched variant as its own search with the seed set (`seeds` holds one)."""
    data = exp.to_dict()
    data["compare"]["variants"] = {}
    if searched(exp):
        (data["seed"],) = seeds
        return build_experiment(data)
    data["tune"]["search_space"] = {"seed": {"grid_search": seeds}}
    data["tune"]["num_samples"] = 1
    data["tune"]["search_alg"] = "random"
    return build_experiment(data)
