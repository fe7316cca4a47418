"""Shared by the learning benchmarks that judge a learned policy against scripted ones:
train an experiment file, then play the learned policy, scripted policies and random actions
on the same seeded episodes and compare an info measure summed per episode."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import envs
from marl_ray.config import ExperimentConfig, load_experiment
from marl_ray.evaluate import EVAL_COPIES, evaluate_checkpoint, mean_episode_infos, play
from marl_ray.runner import connect, run_experiment

ROOT = Path(__file__).resolve().parents[1]


def add_overrides_argument(parser: argparse.ArgumentParser) -> None:
    """`--set KEY=VALUE` (repeatable): experiment-file overrides, as on the CLI, for trying
    variants of the benchmark's experiment (applied after the benchmark's own)."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")


def stop_overrides(args: argparse.Namespace) -> list[str]:
    """`--max-env-steps` / `--max-seconds` as stop overrides; unset ones keep the file's."""
    out = []
    if args.max_env_steps is not None:
        out.append(f"stop.timesteps_total={args.max_env_steps}")
    if args.max_seconds is not None:
        out.append(f"stop.time_total_s={args.max_seconds}")
    return out


def learning_arguments(doc: str, episodes: int, checkpoint: bool = False) -> argparse.Namespace:
    """The arguments every learn_* benchmark on a user env takes: stop overrides, evaluation
    episodes, seed and `--set` experiment overrides (and `--checkpoint`, to evaluate an
    earlier run's checkpoint without training, where the benchmark offers it)."""
    parser = argparse.ArgumentParser(description=doc)
    if checkpoint:
        parser.add_argument("--checkpoint", help="evaluate this checkpoint; do not train")
    parser.add_argument("--max-env-steps", type=int)
    parser.add_argument("--max-seconds", type=float)
    parser.add_argument("--episodes", type=int, default=episodes)
    parser.add_argument("--seed", type=int, default=0)
    add_overrides_argument(parser)
    return parser.parse_args()


def train_with(config_file: str, args: argparse.Namespace):
    """`train` with `learning_arguments`' stop overrides, seed and `--set` applied."""
    return train(config_file, [*stop_overrides(args), f"seed={args.seed}", *args.set])


def train(config_file: str, overrides: Sequence[str]) -> tuple[ExperimentConfig, str, float, int]:
    """Trains one trial; returns the experiment, its final checkpoint, wall time, env steps."""
    storage = tempfile.mkdtemp(prefix=Path(config_file).stem + "_")
    exp = load_experiment(
        ROOT / "tune_configs" / config_file, [*overrides, f"storage_path={storage}"]
    )
    connect(None, num_cpus=2)
    start = time.time()
    summary = run_experiment(exp, verbose=0)
    return exp, summary.checkpoint, time.time() - start, int(summary.timesteps or 0)


def learned_measure(checkpoint: str, key: str, episodes: int, seed: int) -> float:
    """The learned policy's (greedy) per-episode sum of info `key`, averaged."""
    return evaluate_checkpoint(checkpoint, episodes=episodes, seed=seed).episode_infos[key]


def scripted_measure(
    exp: ExperimentConfig,
    policy: Callable[[envs.BatchedEnv, np.random.Generator], np.ndarray],
    key: str,
    episodes: int,
    seed: int,
) -> float:
    """A scripted policy's per-episode sum of info `key` on the episodes the learned policy
    met (same env config, copies and seed)."""
    core = envs.make_batched(exp.env.name, min(EVAL_COPIES, episodes), exp.env.core_config)
    rng = np.random.default_rng(seed)
    finished = play(core, lambda obs, _: policy(core, rng), episodes, seed)
    return mean_episode_infos(finished)[key]


def random_policy(core: envs.BatchedEnv, rng: np.random.Generator) -> np.ndarray:
    return core.sample_actions(rng)


def random_returns(exp: ExperimentConfig, episodes: int, seed: int) -> dict[str, float]:
    """Per agent, the mean episode return of uniformly random actions on the episodes a
    learned policy evaluated with `seed` met (same env config, copies and seed)."""
    core = envs.make_batched(exp.env.name, min(EVAL_COPIES, episodes), exp.env.core_config)
    rng = np.random.default_rng(seed)
    finished = play(core, lambda obs, _: random_policy(core, rng), episodes, seed)
    means = np.stack([ep.returns for ep in finished]).mean(axis=0)
    return {a: float(m) for a, m in zip(core.possible_agents, means, strict=True)}
