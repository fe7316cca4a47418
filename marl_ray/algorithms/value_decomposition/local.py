"""IQL / VDN / QMIX in one process, without Ray: sample a chunk, store it, update, share the
weights. The Ray version splits exactly these roles into actors; this loop is what tests and
quick checks run."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from marl_ray.algorithms.core.q_network import linear_epsilon
from marl_ray.algorithms.core.q_rollout import QSampler
from marl_ray.algorithms.core.replay import SequenceReplay
from marl_ray.algorithms.value_decomposition.config import QConfig
from marl_ray.algorithms.value_decomposition.learner import QLearner, build_q_policies


class LocalQTrainer:
    def __init__(self, config: QConfig):
        self.config = config
        self.learner = QLearner(config)
        _, groups, nets = build_q_policies(config)
        self.sampler = QSampler(
            config.env, config.env_config, config.num_envs_per_sampler, groups, nets, config.seed
        )
        self.sampler.set_weights(self.learner.get_weights()[1])
        self.replay = SequenceReplay(config.buffer_capacity, config.sequence_length, config.seed)

    @property
    def epsilon(self) -> float:
        c = self.config
        return linear_epsilon(
            c.epsilon_start, c.epsilon_end, c.epsilon_decay_steps, self.sampler.env_steps
        )

    def train(self, env_steps: int) -> dict[str, Any]:
        """Samples until `env_steps` more env steps are done, updating as configured."""
        cfg, stats = self.config, []
        target = self.sampler.env_steps + env_steps
        while self.sampler.env_steps < target:
            self.replay.add(self.sampler.rollout(cfg.sequence_length, self.epsilon))
            if self.sampler.env_steps >= cfg.learning_starts:
                for _ in range(cfg.updates_per_batch):
                    stats.append(self.learner.update(self.replay.sample(cfg.batch_size)))
                self.sampler.set_weights(self.learner.get_weights()[1])
        means = {k: float(np.mean([s[k] for s in stats])) for k in stats[0]} if stats else {}
        return {**means, "env_steps": self.sampler.env_steps, "epsilon": self.epsilon}

    @torch.no_grad()
    def greedy_returns(self, episodes: int, seed: int) -> list[float]:
        """Returns (summed over agents) of `episodes` greedy episodes on a fresh core."""
        cfg = self.config
        _, groups, nets = build_q_policies(cfg)
        player = QSampler(cfg.env, cfg.env_config, min(episodes, 64), groups, nets, seed)
        player.set_weights(self.learner.get_weights()[1])
        finished: list[float] = []
        while len(finished) < episodes:
            player.rollout(1, epsilon=0.0)
            finished += [e.episode_return for e in player.tracker.drain()]
        return finished[:episodes]
