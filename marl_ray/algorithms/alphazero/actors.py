"""Ray actors: thin wrappers around self-play, shared inference, replay, the learner and the
evaluator. Each sets torch to one thread: actors share the node's cores."""

from __future__ import annotations

import numpy as np
import ray
import torch

from envs.board_games import make_game
from marl_ray.algorithms.alphazero.config import AlphaZeroConfig
from marl_ray.algorithms.alphazero.evaluators import network_evaluator
from marl_ray.algorithms.alphazero.learner import AlphaZeroLearner
from marl_ray.algorithms.alphazero.players import MCTSPlayer, make_opponent, play_match
from marl_ray.algorithms.alphazero.replay import Positions, ReplayBuffer
from marl_ray.algorithms.alphazero.self_play import SelfPlay, SelfPlayStats
from marl_ray.algorithms.core.device import select_device


def _evaluator(config: AlphaZeroConfig, weights, device="cpu"):
    return network_evaluator(config.env, config.env_config, config.network, weights, device)


class RemoteEvaluator:
    """Sends a batch of leaves to the shared inference actor."""

    def __init__(self, game, inference):
        self.game, self.inference = game, inference

    def __call__(self, states):
        return ray.get(self.inference.evaluate.remote(self.game.encode_batch(states)))


@ray.remote
class SelfPlayActor:
    def __init__(self, config: AlphaZeroConfig, seed_index: int, weights, inference=None):
        torch.set_num_threads(1)
        self.config = config
        self.game = make_game(config.env, config.env_config)
        rng = np.random.default_rng([config.seed, seed_index])
        self.self_play = SelfPlay(
            self.game,
            config.search(evaluation=False),
            config.temperature_moves,
            config.parallel_games,
            rng,
        )
        self.inference = inference
        self.version = -1
        self.evaluator = None
        self.set_weights(weights, 0)

    def set_weights(self, weights, version: int) -> None:
        if self.inference is not None:
            self.evaluator = RemoteEvaluator(self.game, self.inference)
        elif version != self.version:
            self.evaluator = _evaluator(self.config, weights)
        self.version = version

    def play(self, games: int, replay) -> SelfPlayStats:
        """Plays `games` games and stores their positions in `replay` before returning."""
        positions, stats = self.self_play.play(games, self.evaluator)
        ray.get(replay.add.remote(positions))
        return stats


@ray.remote
class InferenceActor:
    """One network for every self-play actor's leaves (on the trainer's GPU when it has one)."""

    def __init__(self, config: AlphaZeroConfig, weights, gpus: float):
        torch.set_num_threads(1)
        self.device = select_device(gpus, "the AlphaZero inference actor")
        self.config = config
        self.set_weights(weights)

    def set_weights(self, weights) -> None:
        self.evaluator = _evaluator(self.config, weights, self.device)

    def evaluate(self, planes: np.ndarray):
        return self.evaluator.evaluate_planes(planes)


@ray.remote
class ReplayActor:
    def __init__(self, config: AlphaZeroConfig):
        self.buffer = ReplayBuffer(make_game(config.env, config.env_config), config.replay_capacity)
        self.rng = np.random.default_rng([config.seed, 7])

    def add(self, positions: Positions) -> int:
        self.buffer.add(positions)
        return self.buffer.size

    def sample(self, batch_size: int, count: int) -> list[Positions]:
        return [self.buffer.sample(batch_size, self.rng) for _ in range(count)]

    def size(self) -> int:
        return self.buffer.size

    def state_dict(self) -> dict:
        return self.buffer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.buffer.load_state_dict(state)


@ray.remote
class TrainerActor:
    def __init__(self, config: AlphaZeroConfig, weights, gpus: float):
        torch.set_num_threads(1)
        device = select_device(gpus, "the AlphaZero trainer")
        game = make_game(config.env, config.env_config)
        self.config = config
        self.learner = AlphaZeroLearner(
            game, config.network, lr=config.lr, l2=config.l2, device=device
        )
        self.learner.network.load_state_dict(weights)

    def train(self, replay, steps: int) -> dict[str, float]:
        batches = ray.get(replay.sample.remote(self.config.batch_size, steps))
        return self.learner.train(batches)

    def get_weights(self):
        return self.learner.get_weights()

    def state_dict(self) -> dict:
        return self.learner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state)

    def device(self) -> str:
        return str(self.learner.device)


@ray.remote
class EvaluatorActor:
    """Candidate-versus-best matches for promotion, and the best's strength against fixed
    baseline players."""

    def __init__(self, config: AlphaZeroConfig):
        torch.set_num_threads(1)
        self.config = config
        self.game = make_game(config.env, config.env_config)
        self.rng = np.random.default_rng([config.seed, 11])

    def _player(self, weights, name: str, temperature_moves: int) -> MCTSPlayer:
        return MCTSPlayer(
            self.game,
            self.config.search(evaluation=True),
            _evaluator(self.config, weights),
            self.rng,
            name=name,
            temperature_moves=temperature_moves,
        )

    def compare(self, candidate, best) -> dict[str, float]:
        t = self.config.eval_temperature_moves
        result = play_match(
            self.game,
            self._player(candidate, "candidate", t),
            self._player(best, "best", t),
            self.config.eval_games,
        )
        return result.to_dict()

    def baselines(self, weights, opponents: list[str], games: int) -> dict[str, dict]:
        player = self._player(weights, "best", 0)
        return {
            spec: play_match(
                self.game, player, make_opponent(spec, self.game, self.rng), games
            ).to_dict()
            for spec in opponents
        }
