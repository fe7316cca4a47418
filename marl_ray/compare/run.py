"""Trains a comparison's variants (each a Tune run whose trials are the seeds), then
evaluates every final checkpoint on the same seeded episodes."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envs.schema import ConfigError
from marl_ray.compare.spec import SPEC_FILE, CompareSpec, Variant, build_spec, searched, seeded
from marl_ray.config import SELF_PLAY_FIGURES, metric_key
from marl_ray.results import last_value, read_progress, write_json_atomic
from marl_ray.storage import RunStorage
from marl_ray.trainables import REGISTRY

if TYPE_CHECKING:
    from marl_ray.compare.report import Comparison

EVALUATION_FILE = "evaluation.json"


def compare_files(
    files: list[str],
    overrides: list[str],
    *,
    seeds: int | None = None,
    eval_episodes: int | None = None,
    address: str | None = None,
) -> tuple[RunStorage, Comparison]:
    """Runs a new comparison; returns its folder and report."""
    spec = build_spec(files, overrides, seeds, eval_episodes)
    base = spec.variants[0].experiment
    storage = RunStorage.at(
        base.storage_path, f"{spec.name}-compare-{datetime.now():%Y%m%d-%H%M%S}"
    )
    spec.write(storage.local)  # first, so an interrupted comparison can resume
    storage.push(SPEC_FILE)
    return _run(spec, storage, address)


def resume_compare(location: str, *, address: str | None = None) -> tuple[RunStorage, Comparison]:
    """Continues an interrupted comparison: finished variants are kept, unfinished trials go
    on from their last checkpoint, evaluations already made are not repeated."""
    storage = RunStorage.of(location)
    storage.pull()
    return _run(CompareSpec.read(storage.local), storage, address)


def _run(
    spec: CompareSpec, storage: RunStorage, address: str | None
) -> tuple[RunStorage, Comparison]:
    from ray import tune

    from marl_ray.compare.report import publish_comparison
    from marl_ray.runner import resume_experiment, run_experiment

    print(
        f"marl-ray compare: {len(spec.variants)} variants x {len(spec.seeds)} seeds "
        f"({', '.join(v.name for v in spec.variants)}) into {storage.location}",
        flush=True,
    )
    for i, variant in enumerate(spec.variants, 1):
        print(f"marl-ray compare: variant {i}/{len(spec.variants)}: {variant.name}", flush=True)
        if searched(variant.experiment):  # a whole search per seed
            runs = [(storage.child(variant.name).child(f"seed_{s}"), [s]) for s in spec.seeds]
        else:  # one search over the seeds
            runs = [(storage.child(variant.name), spec.seeds)]
        for run, seeds in runs:
            if tune.Tuner.can_restore(run.location):
                resume_experiment(run.location, address=address)
            else:
                exp = seeded(variant.experiment, seeds)
                run_experiment(exp, search=True, address=address, storage=run)
    evaluate_runs(spec, storage)  # pulls the whole folder first
    return storage, publish_comparison(storage, pull=False)


def trial_folders(spec: CompareSpec, variant: Variant, folder: Path) -> dict[int, Path]:
    """seed -> the trial that stands for that seed: the seed's trial of a plain variant, the
    best trial (final `tune.metric`) of a searched variant's search on that seed."""
    run = folder / variant.name
    if not searched(variant.experiment):
        out = {}
        for params in sorted(run.glob("*/params.json")):
            seed = (json.loads(params.read_text()).get("search") or {}).get("seed")
            if seed is not None:
                out[int(seed)] = params.parent
        return out
    exp = variant.experiment
    key, sign = metric_key(exp.tune.metric), (1 if exp.tune.mode == "max" else -1)
    best = {}
    for seed in spec.seeds:
        scored = []
        for progress in sorted((run / f"seed_{seed}").glob("*/progress.csv")):
            final = last_value(read_progress(progress), key)
            scored.append((sign * final if final is not None else -math.inf, progress.parent))
        if scored:
            best[seed] = max(scored, key=lambda pair: pair[0])[1]
    return best


def final_checkpoint(trial: Path) -> Path | None:
    checkpoints = sorted(trial.glob("checkpoint_*"))
    return checkpoints[-1] if checkpoints else None


def evaluate_runs(spec: CompareSpec, storage: RunStorage) -> dict[str, Any]:
    """{variant: {seed: {"checkpoint", "greedy": result, "sampled": result | None}}}, every
    checkpoint played on the episodes of `spec.eval_seed`; kept in `evaluation.json` so a
    resumed comparison or a regenerated report does not evaluate twice."""
    from marl_ray.evaluate import evaluate_checkpoint

    storage.pull(skip_prefix=None)  # checkpoints included, to evaluate them here
    path = storage.local / EVALUATION_FILE
    done: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    for variant in spec.variants:
        sampled = REGISTRY[variant.experiment.algorithm].stochastic_policy
        for seed, trial in trial_folders(spec, variant, storage.local).items():
            checkpoint = final_checkpoint(trial)
            if checkpoint is None:
                raise ConfigError(f"{trial} has no checkpoint to evaluate (checkpoint.at_end?)")
            name = checkpoint.relative_to(storage.local).as_posix()
            entry = done.setdefault(variant.name, {}).get(str(seed))
            if entry and entry["checkpoint"] == name:
                continue
            print(f"marl-ray compare: evaluating {name}", flush=True)

            self_play = variant.experiment.multi_agent.policies == "self_play"

            def play(explore: bool, checkpoint=checkpoint, self_play=self_play) -> dict:
                result = evaluate_checkpoint(
                    checkpoint,
                    spec.eval_episodes,
                    seed=spec.eval_seed,
                    explore=explore,
                    scripted_opponent=spec.scripted_opponent if self_play else None,
                ).to_dict()
                kept = {k: result[k] for k in _KEPT if k in result}
                for figure in SELF_PLAY_FIGURES:
                    if (result.get("self_play") or {}).get(figure) is not None:
                        kept[figure] = result["self_play"][figure]
                return kept

            done[variant.name][str(seed)] = {
                "checkpoint": name,
                "greedy": play(False),
                "sampled": play(True) if sampled else None,
            }
            write_json_atomic(path, done)  # after each run: an interruption keeps the rest
    if not path.is_file():  # nothing to evaluate yet
        write_json_atomic(path, done)
    storage.push(EVALUATION_FILE)
    return done


_KEPT = (
    "episodes",
    "episode_return_mean",
    "success_rate",
    "episode_len_mean",
    "episode_returns",
    "episode_successes",
)
