"""The sampling actor of our multi-agent algorithms: a `MultiAgentSampler` behind a method
that loads published weights and returns one batch per policy (PPO's workers, IMPALA's
actors). `SamplerActor` is the Ray actor; `SamplerHost` runs without Ray."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import ray

from marl_ray.algorithms.core.multi_agent_rollout import MultiAgentSampler, PolicyRollout
from marl_ray.algorithms.core.policy_network import build_policies
from marl_ray.algorithms.core.rollout import EpisodeStats
from marl_ray.algorithms.core.transfer import nbytes


class BatchInfo(NamedTuple):
    behaviour_version: int  # the weights version that acted
    env_steps: int
    agent_steps: int  # agents present, summed over steps
    episodes: list[EpisodeStats]
    batch_bytes: int  # the batch this call returns
    weights_bytes: int  # weights loaded for it (0 when the version had not changed)
    sample_s: float  # wall time of this call (loading the weights and stepping)


class SamplerHost:
    def __init__(
        self,
        config: Any,
        algorithm: str,
        num_envs: int,
        length: int,
        seed: int,
    ):
        """`config`: an algorithm config on the multi-agent core (env, env_config, policies,
        network, seed); `seed` is this sampler's own."""
        _, groups, nets = build_policies(config, algorithm)
        self.sampler = MultiAgentSampler(
            config.env, config.env_config, num_envs, groups, nets, seed
        )
        self.length = length
        self.version = -1

    @ray.method(num_returns=2)
    def rollout(self, weights) -> tuple[dict[str, PolicyRollout], BatchInfo]:
        """`length` steps with the given `(version, weights)` (loaded when they changed)."""
        start = time.perf_counter()
        version, state = weights
        weights_bytes = 0
        if version != self.version:
            self.sampler.set_weights(state)
            self.version = version
            weights_bytes = nbytes(state)
        env_steps, agent_steps = self.sampler.env_steps, self.sampler.agent_steps
        batch = self.sampler.rollout(self.length)
        info = BatchInfo(
            self.version,
            self.sampler.env_steps - env_steps,
            self.sampler.agent_steps - agent_steps,
            self.sampler.tracker.drain(),
            nbytes(batch),
            weights_bytes,
            time.perf_counter() - start,
        )
        return batch, info


SamplerActor = ray.remote(SamplerHost)
