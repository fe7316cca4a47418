"""Episode bookkeeping for our algorithms (finished episodes, the 100-episode window), and
the one shared actor-critic that ES perturbs."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np
import torch

import envs
from envs.schema import ConfigError
from marl_ray.algorithms.core.networks import ActorCritic, NetworkConfig, build_actor_critic


class EpisodeStats(NamedTuple):
    episode_return: float  # summed over agents, as RLlib reports it
    length: int
    success: float | None


class EpisodeTracker:
    """Accumulates per-copy returns and lengths; yields finished episodes."""

    def __init__(self, num_envs: int):
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.finished: list[EpisodeStats] = []

    def update(self, rewards: np.ndarray, done: np.ndarray, infos: dict) -> None:
        self.returns += rewards.sum(axis=1)
        self.lengths += 1
        if not done.any():
            return
        ended = np.flatnonzero(done)
        success = infos.get("success")
        oks = [None] * len(ended) if success is None else np.asarray(success)[ended].tolist()
        returns, lengths = self.returns[ended].tolist(), self.lengths[ended].tolist()
        self.finished.extend(map(EpisodeStats, returns, lengths, map(_float_or_none, oks)))
        self.returns[ended] = 0.0
        self.lengths[ended] = 0

    def drain(self) -> list[EpisodeStats]:
        out, self.finished = self.finished, []
        return out


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)


class EpisodeWindow:
    """The last `size` finished episodes: the 100-episode means reported as results."""

    def __init__(self, size: int = 100):
        self.episodes: deque[EpisodeStats] = deque(maxlen=size)
        self.total = 0

    def extend(self, episodes: list[EpisodeStats]) -> None:
        self.episodes.extend(episodes)
        self.total += len(episodes)

    def state_dict(self) -> dict:
        return {"episodes": [tuple(e) for e in self.episodes], "total": self.total}

    def load_state_dict(self, state: dict) -> None:
        self.episodes.clear()
        self.episodes.extend(EpisodeStats(*e) for e in state["episodes"])
        self.total = int(state["total"])

    def means(self) -> dict[str, float]:
        if not self.episodes:
            return {}
        out = {
            "episode_return_mean": float(np.mean([e.episode_return for e in self.episodes])),
            "episode_len_mean": float(np.mean([e.length for e in self.episodes])),
        }
        successes = [e.success for e in self.episodes if e.success is not None]
        if successes:
            out["success_rate"] = float(np.mean(successes))
        return out


def build_policy_network(env: envs.BatchedEnv, network: NetworkConfig, seed: int) -> ActorCritic:
    """One network shared by every agent; needs identical spaces across agents. Its initial
    weights are a function of `seed` alone (torch's global RNG is left as it was)."""
    agents = env.possible_agents
    obs_space, act_space = env.observation_spaces[agents[0]], env.action_spaces[agents[0]]
    for agent in agents[1:]:
        if env.observation_spaces[agent] != obs_space or env.action_spaces[agent] != act_space:
            raise ConfigError(
                f"{env.name}: a shared policy needs the same spaces for every agent; "
                f"{agent} differs from {agents[0]}"
            )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_actor_critic(obs_space, act_space, network)
