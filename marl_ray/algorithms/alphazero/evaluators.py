"""Leaf evaluators for `MCTS`: the network, uniform priors, and random rollouts."""

from __future__ import annotations

import numpy as np
import torch

from envs.board_games import Game, State, make_game
from marl_ray.algorithms.alphazero.network import NetworkConfig, PolicyValueNet


class UniformEvaluator:
    """Uniform priors and value 0: search guided by terminal positions alone."""

    def __init__(self, game: Game):
        self.game = game

    def __call__(self, states: list[State]):
        return np.ones((len(states), self.game.num_actions)), np.zeros(len(states))


class RolloutEvaluator:
    """Uniform priors; the value of one uniformly random playout to the end (pure MCTS)."""

    def __init__(self, game: Game, rng: np.random.Generator):
        self.game, self.rng = game, rng

    def __call__(self, states: list[State]):
        values = np.array([self.rollout(s) for s in states])
        return np.ones((len(states), self.game.num_actions)), values

    def rollout(self, state: State) -> float:
        game, rng, sign = self.game, self.rng, 1.0
        while True:
            if state.won:
                return -sign  # the player who just moved won
            legal = game.legal_actions(state)
            if not legal:
                return 0.0
            state = game.apply_legal(state, legal[int(rng.integers(len(legal)))])
            sign = -sign


class NetworkEvaluator:
    """The policy-value network in eval mode: softmax priors and values for a batch of
    positions. `calls` and `positions` count its use (batching shows in their ratio)."""

    def __init__(self, game: Game, network: torch.nn.Module, device: torch.device | str = "cpu"):
        self.game, self.network, self.device = game, network, torch.device(device)
        self.network.eval()
        self.calls = self.positions = 0

    def __call__(self, states: list[State]):
        return self.evaluate_planes(self.game.encode_batch(states))

    def evaluate_planes(self, planes: np.ndarray):
        """The same on encoded planes (the shared inference actor receives these)."""
        with torch.no_grad():
            logits, values = self.network(torch.from_numpy(planes).to(self.device))
        self.calls += 1
        self.positions += len(planes)
        return torch.softmax(logits, -1).cpu().numpy(), values.cpu().numpy()


def network_evaluator(
    game_name: str, game_config: dict, network: NetworkConfig, weights, device="cpu"
) -> NetworkEvaluator:
    """A `NetworkEvaluator` for `weights` of the network `network` describes."""
    game = make_game(game_name, game_config)
    net = PolicyValueNet(game, network).to(device)
    net.load_state_dict(weights)
    return NetworkEvaluator(game, net, device)
