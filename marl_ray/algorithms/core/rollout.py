"""Acting in a batched env with one forward pass per step; episode bookkeeping.

Every (copy, agent) pair is one row of the batch: a multi-agent env with a shared policy
contributes `num_envs * num_agents` rows, a single-agent env `num_envs`.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np
import torch

import envs
from envs.schema import ConfigError
from marl_ray.algorithms.core.networks import ActorCritic, NetworkConfig, build_actor_critic


class Rollout(NamedTuple):
    """`T` steps of `B` rows, time-major."""

    obs: torch.Tensor  # [T, B, *obs_shape] states acted in
    actions: torch.Tensor  # [T, B] (discrete) or [T, B, k]
    behaviour_params: torch.Tensor  # [T, B, n] logits or means the actions were drawn from
    rewards: torch.Tensor  # [T, B]
    terminated: torch.Tensor  # [T, B] bool
    truncated: torch.Tensor  # [T, B] bool
    final_obs: torch.Tensor  # [T, B, *obs_shape] state reached by the step (before resets)
    bootstrap_obs: torch.Tensor  # [B, *obs_shape] state after the last step


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
        success = infos.get("success")
        for e in np.flatnonzero(done):
            ok = None if success is None else float(success[e])
            self.finished.append(EpisodeStats(float(self.returns[e]), int(self.lengths[e]), ok))
            self.returns[e] = 0.0
            self.lengths[e] = 0

    def drain(self) -> list[EpisodeStats]:
        out, self.finished = self.finished, []
        return out


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


class RolloutWorker:
    """Owns a batched env and a policy network; collects `Rollout`s with a shared policy."""

    def __init__(
        self,
        env_name: str,
        env_config: dict,
        num_envs: int,
        network: NetworkConfig,
        seed: int,
    ):
        torch.manual_seed(seed)
        self.env = envs.make_batched(env_name, num_envs, env_config)
        self.net = build_policy_network(self.env, network, seed)
        self.num_rows = num_envs * self.env.num_agents
        self.obs_shape = self.env.observation_spaces[self.env.possible_agents[0]].shape
        obs, _ = self.env.reset(seed=seed)
        self.obs = obs
        self.tracker = EpisodeTracker(num_envs)
        self.env_steps = 0

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self.net.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})

    def rollout(self, length: int) -> Rollout:
        rows, shape = self.num_rows, self.obs_shape
        e, a = self.env.num_envs, self.env.num_agents
        obs_buf = torch.empty((length, rows, *shape))
        final_buf = torch.empty((length, rows, *shape))
        rewards = torch.empty((length, rows))
        terminated = torch.empty((length, rows), dtype=torch.bool)
        truncated = torch.empty((length, rows), dtype=torch.bool)
        actions, params = [], []
        for t in range(length):
            obs_t = torch.as_tensor(self.obs).reshape(rows, *shape)
            with torch.no_grad():
                p, _ = self.net(obs_t)
                action = self.net.distribution(p).sample()
            out = self.env.step(action.numpy().reshape(e, a, *action.shape[1:]))
            obs_buf[t] = obs_t
            final_buf[t] = torch.as_tensor(out.final_observations).reshape(rows, *shape)
            rewards[t] = torch.as_tensor(out.rewards).reshape(rows)
            terminated[t] = torch.as_tensor(out.terminated).reshape(rows)
            truncated[t] = torch.as_tensor(out.truncated).reshape(rows)
            actions.append(action)
            params.append(p)
            self.tracker.update(out.rewards, out.done, out.infos)
            self.obs = out.observations
        self.env_steps += length * e
        bootstrap = torch.as_tensor(self.obs).reshape(rows, *shape)
        return Rollout(
            obs_buf,
            torch.stack(actions),
            torch.stack(params),
            rewards,
            terminated,
            truncated,
            final_buf,
            bootstrap,
        )


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
