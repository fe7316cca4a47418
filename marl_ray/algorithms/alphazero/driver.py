"""The AlphaZero loop on Ray.

Per iteration the self-play actors play `games_per_iteration` games with the best network
(their positions go straight to the replay actor) while the trainer takes
`train_steps_per_iteration` gradient steps on replayed positions. Then the evaluator plays the
trainer's candidate against the best network and promotes it when its score reaches
`promotion_threshold`; every `baseline_interval` iterations it measures the best network
against the fixed baseline players. A self-play actor that dies is replaced and its games
are played again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import ray
import torch

from envs.board_games import make_game
from marl_ray.algorithms.actor_driver import ActorDriver
from marl_ray.algorithms.alphazero.actors import (
    EvaluatorActor,
    InferenceActor,
    ReplayActor,
    SelfPlayActor,
    TrainerActor,
)
from marl_ray.algorithms.alphazero.config import AlphaZeroConfig
from marl_ray.algorithms.alphazero.learner import cpu_weights
from marl_ray.algorithms.alphazero.network import PolicyValueNet
from marl_ray.algorithms.core.actor_names import ActorNames
from marl_ray.algorithms.core.rollout import EpisodeStats, EpisodeWindow
from marl_ray.algorithms.stall import (
    WorkClock,
    first_ready,
    get_within,
)
from marl_ray.algorithms.trainable import NO_SLOTS, BundleSlots
from marl_ray.metrics import AlgorithmMetrics

logger = logging.getLogger(__name__)
TRAINER_CPUS = 1.0


class AlphaZeroDriver(ActorDriver):
    def __init__(
        self,
        config: AlphaZeroConfig,
        name_prefix: str,
        metrics: AlgorithmMetrics | None,
        slots: BundleSlots = NO_SLOTS,
    ):
        self.config, self.metrics, self.prefix = config, metrics, name_prefix
        self.slots = slots  # bundle 0: the trainer, 1 + i: self-play actor i
        torch.manual_seed(config.seed)
        game = make_game(config.env, config.env_config)
        self.best = cpu_weights(PolicyValueNet(game, config.network))
        self.best_version = 0
        gpus = float(config.learner_gpus)
        inference_gpus = gpus / 2 if config.uses_inference_actor else 0.0
        self.trainer = TrainerActor.options(
            name=f"{name_prefix}/trainer",
            num_cpus=TRAINER_CPUS,
            num_gpus=gpus - inference_gpus,
            **slots.options(0),
        ).remote(config, self.best, gpus - inference_gpus)
        self.replay = ReplayActor.options(name=f"{name_prefix}/replay", num_cpus=0).remote(config)
        self.evaluator = EvaluatorActor.options(name=f"{name_prefix}/evaluator", num_cpus=0).remote(
            config
        )
        self.inference = None
        if config.uses_inference_actor:
            self.inference = InferenceActor.options(
                name=f"{name_prefix}/inference", num_cpus=0, num_gpus=inference_gpus
            ).remote(config, self.best, inference_gpus)
        self.workers: list[Any] = [None] * config.num_workers
        self.names = ActorNames(name_prefix, "self_play")
        self.work = WorkClock()
        for i in range(config.num_workers):
            self._start_worker(i)
        self.window = EpisodeWindow(100)
        self.restarts = self.iterations = self.games = self.env_steps = self.simulations = 0
        self.replay_size = 0
        self.evaluation: dict[str, Any] = {}

    def _start_worker(self, i: int) -> None:
        name, seed_index = self.names.next(i, replacement=self.workers[i] is not None)
        self.workers[i] = SelfPlayActor.options(
            name=name, num_cpus=self.config.num_cpus_per_worker, **self.slots.options(1 + i)
        ).remote(self.config, seed_index, self.best, self.inference)

    def _replace(self, i: int, error: Exception) -> None:
        self.work.check(self.stall_timeout_s, "AlphaZero self-play")
        self.restarts += 1
        logger.warning("self-play actor %d died (%s); starting a replacement", i, error)
        self._start_worker(i)
        if self.metrics:
            self.metrics.counter("worker_restarts", "Workers replaced after dying").inc(1)

    # ---- one iteration ----------------------------------------------------------------

    def train(self) -> dict[str, Any]:
        cfg, start = self.config, time.perf_counter()
        training = None
        if self.replay_size >= cfg.min_replay:
            training = self.trainer.train.remote(self.replay, cfg.train_steps_per_iteration)
        stats = self._self_play()
        wait = self.stall_timeout_s
        losses = get_within(training, wait, "AlphaZero training") if training is not None else {}
        self.replay_size = get_within(self.replay.size.remote(), wait, "AlphaZero replay size")
        self.iterations += 1
        evaluation: dict[str, Any] = {}
        if training is not None and self.iterations % cfg.eval_interval == 0:
            evaluation.update(self._evaluate_candidate())
        if cfg.baseline_interval and self.iterations % cfg.baseline_interval == 0:
            evaluation.update(self._measure_baselines())
        self.evaluation.update(evaluation)
        elapsed = time.perf_counter() - start
        moves = sum(s.moves for s in stats)
        figures = {
            **losses,
            "games": self.games,
            "games_per_s": sum(s.games for s in stats) / elapsed,
            "simulations_per_s": sum(s.simulations for s in stats) / elapsed,
            "replay_size": self.replay_size,
            "best_version": self.best_version,
            "env_steps_per_s": moves / elapsed,
            "evaluation": dict(self.evaluation),
        }
        if self.metrics:
            for key in ("games_per_s", "simulations_per_s", "replay_size", "best_version"):
                self.metrics.gauge(key, key.replace("_", " ")).set(figures[key])
            for key, value in self.evaluation.items():
                if isinstance(value, float | int):
                    self.metrics.gauge(f"evaluator_{key}", f"evaluator {key}").set(value)
        return figures

    def _self_play(self) -> list:
        cfg = self.config
        n = cfg.num_workers
        todo = [cfg.games_per_iteration // n + (i < cfg.games_per_iteration % n) for i in range(n)]
        pending = {
            self.workers[i].play.remote(todo[i], self.replay): i for i in range(n) if todo[i]
        }
        self.work.worked()  # the clock runs from here: evaluation phases are not stalls
        stats = []
        while pending:
            ready = first_ready(list(pending), self.stall_timeout_s, "AlphaZero self-play")
            i = pending.pop(ready)
            try:
                stats.append(ray.get(ready))
                self.work.worked()
            except ray.exceptions.RayActorError as exc:
                self._replace(i, exc)
                pending[self.workers[i].play.remote(todo[i], self.replay)] = i
        for s in stats:
            self.games += s.games
            self.env_steps += s.moves
            self.simulations += s.simulations
            self.window.extend(
                [
                    EpisodeStats(r, n, None)
                    for r, n in zip(s.first_player_results, s.lengths, strict=True)
                ]
            )
        return stats

    def _evaluate_candidate(self) -> dict[str, Any]:
        candidate = ray.get(self.trainer.get_weights.remote())
        if self.config.gating:
            match = ray.get(self.evaluator.compare.remote(candidate, self.best))
            promoted = match["score"] >= self.config.promotion_threshold
            out = {f"candidate_{k}": v for k, v in match.items()}
        else:
            promoted, out = True, {}
        if promoted:
            self._set_best(candidate, self.best_version + 1)
        return {**out, "promoted": int(promoted)}

    def _set_best(self, weights, version: int) -> None:
        self.best, self.best_version = weights, version
        refs = [w.set_weights.remote(weights, version) for w in self.workers]
        if self.inference is not None:
            refs.append(self.inference.set_weights.remote(weights))
        ray.get(refs)

    def _measure_baselines(self) -> dict[str, Any]:
        cfg = self.config
        results = ray.get(
            self.evaluator.baselines.remote(self.best, cfg.baseline_opponents, cfg.baseline_games)
        )
        out = {}
        for spec, result in results.items():
            for key, value in result.items():
                out[f"{key}_vs_{spec}"] = value
        return out

    # ---- state ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "learner": ray.get(self.trainer.state_dict.remote()),
            "replay": ray.get(self.replay.state_dict.remote()),
            "best": self.best,
            "best_version": self.best_version,
            "iterations": self.iterations,
            "games": self.games,
            "env_steps": self.env_steps,
            "simulations": self.simulations,
            "restarts": self.restarts,
            "episodes": self.window.state_dict(),
            "evaluation": {k: float(v) for k, v in self.evaluation.items()},
        }

    @staticmethod
    def policy_weights(state: dict[str, Any]) -> dict[str, Any]:
        return state["best"]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ray.get(
            [
                self.trainer.load_state_dict.remote(state["learner"]),
                self.replay.load_state_dict.remote(state["replay"]),
            ]
        )
        self._set_best(state["best"], int(state["best_version"]))
        self.replay_size = len(state["replay"]["values"])
        for key in ("iterations", "games", "env_steps", "simulations", "restarts"):
            setattr(self, key, int(state[key]))
        self.window.load_state_dict(state["episodes"])
        self.evaluation = dict(state["evaluation"])

    def actors(self) -> list[Any]:
        actors = [*self.workers, self.trainer, self.replay, self.evaluator, self.inference]
        return [actor for actor in actors if actor is not None]
