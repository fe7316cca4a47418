"""AlphaZero settings, built from an experiment file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from envs import board_games
from envs.schema import ConfigError, check, from_mapping
from marl_ray.algorithms.alphazero.mcts import SearchConfig
from marl_ray.algorithms.alphazero.network import NetworkConfig
from marl_ray.algorithms.core.experiment import own_algorithm_config
from marl_ray.config import ExperimentConfig


@dataclass(frozen=True)
class AlphaZeroConfig:
    env: str
    env_config: dict
    num_workers: int = 1
    """Self-play actors (resources.num_env_runners)."""
    num_cpus_per_worker: float = 1.0
    parallel_games: int = 16
    """Games each self-play actor plays in lockstep, their leaves evaluated together
    (resources.num_envs_per_env_runner)."""
    games_per_iteration: int = 32
    """Self-play games per Tune iteration, over all workers."""
    num_simulations: int = 50
    c_puct: float = 1.5
    dirichlet_alpha: float = 1.0
    dirichlet_fraction: float = 0.25
    leaf_batch: int = 8
    virtual_loss: float = 1.0
    temperature_moves: int = 4
    """Self-play samples moves from the visit counts (temperature 1) for this many plies,
    then plays the most visited move."""
    replay_capacity: int = 50_000
    min_replay: int = 500
    """Positions in the replay buffer before training starts."""
    batch_size: int = 256
    """Positions per gradient step (training.train_batch_size)."""
    train_steps_per_iteration: int = 50
    lr: float = 1e-3
    l2: float = 1e-4
    """Coefficient of the L2 penalty on all weights in the loss."""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    gating: bool = True
    """Self-play uses the best network, replaced only by a candidate that beats it; off: the
    newest network plays (AlphaZero 2018)."""
    eval_games: int = 20
    """Candidate-versus-best games per evaluation (half with each side starting)."""
    eval_simulations: int = 0
    """Simulations per move in evaluation games (0: num_simulations)."""
    eval_temperature_moves: int = 2
    """Plies sampled at temperature 1 in evaluation games, so they differ."""
    promotion_threshold: float = 0.55
    """Candidate score (wins + draws / 2) / games that promotes it to best."""
    eval_interval: int = 1
    """Iterations between candidate evaluations."""
    baseline_opponents: list[str] = field(default_factory=lambda: ["random"])
    """Fixed opponents the best network is measured against: random, mcts:N, minimax."""
    baseline_games: int = 20
    baseline_interval: int = 5
    """Iterations between baseline matches (0: never)."""
    inference: Literal["auto", "local", "actor"] = "auto"
    """Where self-play evaluates leaves: local (a network copy in each worker) or actor (one
    shared inference actor, batching every worker's leaves on the trainer's GPU); auto picks
    actor when the trainer has a GPU."""
    learner_gpus: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.env not in board_games.GAMES:
            raise ConfigError(
                f"env {self.env!r} is not a board game; ALPHAZERO plays "
                f"{', '.join(board_games.names())}"
            )
        check(self.num_workers >= 1, "resources.num_env_runners (self-play actors) must be >= 1")
        check(self.parallel_games >= 1, "resources.num_envs_per_env_runner must be >= 1")
        check(self.games_per_iteration >= 1, "training.extra.games_per_iteration must be >= 1")
        check(self.temperature_moves >= 0, "training.extra.temperature_moves must be >= 0")
        check(self.replay_capacity >= self.batch_size, "replay_capacity must be >= batch_size")
        check(self.min_replay >= 1, "training.extra.min_replay must be >= 1")
        check(self.eval_games >= 2, "training.extra.eval_games must be >= 2")
        check(
            0.5 <= self.promotion_threshold <= 1,
            f"training.extra.promotion_threshold must be in [0.5, 1], got "
            f"{self.promotion_threshold}",
        )
        check(self.eval_interval >= 1, "training.extra.eval_interval must be >= 1")
        check(self.baseline_interval >= 0, "training.extra.baseline_interval must be >= 0")
        self.search(evaluation=False)  # validates the search keys
        from marl_ray.algorithms.alphazero.players import make_opponent

        game = board_games.make_game(self.env, self.env_config)
        for spec in self.baseline_opponents:
            make_opponent(spec, game, None)

    def search(self, evaluation: bool) -> SearchConfig:
        """Search settings for self-play, or for evaluation games."""
        simulations = self.eval_simulations if evaluation else 0
        try:
            return SearchConfig(
                num_simulations=simulations or self.num_simulations,
                c_puct=self.c_puct,
                dirichlet_alpha=self.dirichlet_alpha,
                dirichlet_fraction=self.dirichlet_fraction,
                leaf_batch=self.leaf_batch,
                virtual_loss=self.virtual_loss,
            )
        except ConfigError as exc:
            raise ConfigError(f"training.extra.{exc}") from None

    @property
    def uses_inference_actor(self) -> bool:
        return self.inference == "actor" or (self.inference == "auto" and self.learner_gpus > 0)


NETWORK_KEYS = ("channels", "res_blocks", "value_hidden")
EXTRA_KEYS = (
    "games_per_iteration",
    "num_simulations",
    "c_puct",
    "dirichlet_alpha",
    "dirichlet_fraction",
    "leaf_batch",
    "virtual_loss",
    "temperature_moves",
    "replay_capacity",
    "min_replay",
    "train_steps_per_iteration",
    "l2",
    "gating",
    "eval_games",
    "eval_simulations",
    "eval_temperature_moves",
    "promotion_threshold",
    "eval_interval",
    "baseline_opponents",
    "baseline_games",
    "baseline_interval",
    "inference",
)


def _network(exp: ExperimentConfig, extra: dict[str, Any]) -> NetworkConfig:
    return from_mapping(NetworkConfig, extra, where="training.extra")


def alphazero_config(exp: ExperimentConfig, learner_gpus: int = 0) -> AlphaZeroConfig:
    """AlphaZero takes `training.lr`, `training.train_batch_size` and `training.extra`."""
    return own_algorithm_config(
        AlphaZeroConfig,
        exp,
        algorithm="ALPHAZERO",
        extra_keys=EXTRA_KEYS,
        training_keys={"lr": "lr", "train_batch_size": "batch_size"},
        workers="num_workers",
        envs_per_worker="parallel_games",
        cpus_per_worker="num_cpus_per_worker",
        learner_gpus=learner_gpus,
        network_extra=NETWORK_KEYS,
        build_network=_network,
    )
