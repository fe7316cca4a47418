"""The ES search state every process keeps an identical copy of, and episode playing.

Driver and workers start from the same state and apply the same updates (noise indices and
rank weights, plus merged observation statistics), so theta never travels after start-up.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

import envs
from marl_ray.algorithms.core.es_math import Adam, NoiseTable, RunningStat, es_gradient
from marl_ray.algorithms.core.rollout import build_policy_network
from marl_ray.algorithms.es.config import ESConfig


class ObsStats(NamedTuple):
    count: float
    total: np.ndarray
    total_sq: np.ndarray


class Update(NamedTuple):
    """One generation's step: all a worker needs to move theta."""

    indices: np.ndarray
    weights: np.ndarray
    obs: ObsStats


class EpisodeResult(NamedTuple):
    total_return: float  # summed over agents: the team's return
    steps: int
    success: float | None


class ESModel:
    def __init__(self, config: ESConfig, noise: np.ndarray):
        self.config = config
        self.env = envs.make_batched(config.env, 1, config.env_config)
        self.net = build_policy_network(self.env, config.network, config.seed)
        self.theta = parameters_to_vector(self.net.parameters()).detach().numpy().copy()
        self.dim = self.theta.size
        self.noise = NoiseTable(noise)
        self.adam = Adam(self.dim, config.lr)
        shape = self.env.observation_spaces[self.env.possible_agents[0]].shape
        self.obs_stat = RunningStat(shape)
        self.obs_mean = np.zeros(shape, dtype=np.float32)
        self.obs_std = np.ones(shape, dtype=np.float32)

    # ---- the shared update ------------------------------------------------------------

    def apply(self, update: Update) -> None:
        cfg = self.config
        grad = es_gradient(self.noise, update.indices, update.weights, self.dim, cfg.sigma)
        grad -= cfg.l2_coeff * self.theta
        self.theta = (self.theta + self.adam.step(grad)).astype(np.float32)
        if cfg.observation_normalization and update.obs.count > 0:
            self.obs_stat.merge(*update.obs)
            self.obs_mean = self.obs_stat.mean.astype(np.float32)
            self.obs_std = self.obs_stat.std.astype(np.float32)

    def state_dict(self) -> dict:
        return {
            "theta": torch.as_tensor(self.theta),
            "adam_m": torch.as_tensor(self.adam.m),
            "adam_v": torch.as_tensor(self.adam.v),
            "adam_t": self.adam.t,
            "obs_count": self.obs_stat.count,
            "obs_total": torch.as_tensor(self.obs_stat.total),
            "obs_total_sq": torch.as_tensor(self.obs_stat.total_sq),
        }

    def load_state_dict(self, state: dict) -> None:
        self.theta = np.asarray(state["theta"], dtype=np.float32).copy()
        self.adam.m = np.asarray(state["adam_m"], dtype=np.float32).copy()
        self.adam.v = np.asarray(state["adam_v"], dtype=np.float32).copy()
        self.adam.t = int(state["adam_t"])
        self.obs_stat = RunningStat(self.obs_mean.shape)
        self.obs_stat.merge(
            float(state["obs_count"]),
            np.asarray(state["obs_total"]),
            np.asarray(state["obs_total_sq"]),
        )
        if self.obs_stat.count > 0:
            self.obs_mean = self.obs_stat.mean.astype(np.float32)
            self.obs_std = self.obs_stat.std.astype(np.float32)

    def policy_weights(self) -> dict[str, torch.Tensor]:
        """The network's state dict at theta (for evaluation and checkpoints)."""
        vector_to_parameters(torch.as_tensor(self.theta), self.net.parameters())
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    # ---- playing ----------------------------------------------------------------------

    def play(
        self, theta: np.ndarray, rng: np.random.Generator, budget: int, collect_obs: bool
    ) -> tuple[EpisodeResult, ObsStats | None]:
        """One episode with parameters `theta` (greedy actions), at most `budget` steps."""
        vector_to_parameters(torch.as_tensor(theta), self.net.parameters())
        obs, _ = self.env.reset(seed=int(rng.integers(2**31)))
        total, steps = 0.0, 0
        shape = self.obs_mean.shape
        obs_total = np.zeros(shape) if collect_obs else None
        obs_sq = np.zeros(shape) if collect_obs else None
        count = 0
        while True:
            rows = obs.reshape(-1, *shape)
            if collect_obs:
                obs_total += rows.sum(axis=0)
                obs_sq += (rows.astype(np.float64) ** 2).sum(axis=0)
                count += rows.shape[0]
            normalised = (rows - self.obs_mean) / self.obs_std
            with torch.no_grad():
                actions = self.net.act(
                    torch.as_tensor(normalised, dtype=torch.float32), greedy=True
                )
            out = self.env.step(actions.numpy().reshape(1, self.env.num_agents, *actions.shape[1:]))
            total += float(out.rewards.sum())
            steps += 1
            if out.done[0] or (budget and steps >= budget):
                success = out.infos.get("success")
                ok = None if success is None or not out.done[0] else float(success[0])
                result = EpisodeResult(total, steps, ok)
                stats = ObsStats(float(count), obs_total, obs_sq) if collect_obs else None
                return result, stats
            obs = out.observations
