"""Replay buffer of self-play positions: a ring of (planes, visit policy, result), sampled
uniformly with a random board symmetry applied to each sample."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from envs.board_games import NUM_PLANES, Game


class Positions(NamedTuple):
    """planes [N, C, rows, cols] float32, policies [N, A] float32, values [N] float32."""

    planes: np.ndarray
    policies: np.ndarray
    values: np.ndarray


class ReplayBuffer:
    def __init__(self, game: Game, capacity: int):
        self.game, self.capacity = game, capacity
        self.planes = np.zeros((capacity, NUM_PLANES, game.rows, game.columns), dtype=np.uint8)
        self.policies = np.zeros((capacity, game.num_actions), dtype=np.float32)
        self.values = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self.added = 0
        """Positions ever added (the write position is added % capacity)."""

    def add(self, positions: Positions) -> None:
        n = len(positions.values)
        if n > self.capacity:  # only the newest fit
            positions = Positions(*(a[-self.capacity :] for a in positions))
            self.added += n - self.capacity
            n = self.capacity
        rows = (self.added + np.arange(n)) % self.capacity
        self.planes[rows] = positions.planes
        self.policies[rows] = positions.policies
        self.values[rows] = positions.values
        self.added += n
        self.size = min(self.capacity, self.size + n)

    def sample(self, batch_size: int, rng: np.random.Generator, augment: bool = True) -> Positions:
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        rows = rng.integers(self.size, size=batch_size)
        planes = self.planes[rows].astype(np.float32)
        policies = self.policies[rows]
        if augment:
            copies = self.game.symmetries(planes, policies)
            which = rng.integers(len(copies), size=batch_size)
            planes = np.stack([c[0] for c in copies])[which, np.arange(batch_size)]
            policies = np.stack([c[1] for c in copies])[which, np.arange(batch_size)]
        return Positions(planes, np.ascontiguousarray(policies), self.values[rows])

    def state_dict(self) -> dict:
        n = self.size
        return {
            "planes": torch.from_numpy(self.planes[:n].copy()),
            "policies": torch.from_numpy(self.policies[:n].copy()),
            "values": torch.from_numpy(self.values[:n].copy()),
            "added": self.added,
        }

    def load_state_dict(self, state: dict) -> None:
        n = len(state["values"])
        if n > self.capacity:
            raise ValueError(f"the saved buffer holds {n} positions; capacity is {self.capacity}")
        self.planes[:n] = state["planes"].numpy()
        self.policies[:n] = state["policies"].numpy()
        self.values[:n] = state["values"].numpy()
        self.size, self.added = n, int(state["added"])
