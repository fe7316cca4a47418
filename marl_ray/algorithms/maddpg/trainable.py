"""MADDPG as a Tune `Trainable`, on the shared off-policy loop."""

from __future__ import annotations

import torch

from marl_ray.algorithms.core.policy_map import slot_policies
from marl_ray.algorithms.maddpg.config import MADDPGConfig, maddpg_config
from marl_ray.algorithms.maddpg.learner import MADDPGLearner, MADDPGSampler, build_maddpg_policies
from marl_ray.algorithms.off_policy import OffPolicyDriver, OffPolicyTrainable


def make_maddpg_sampler(config: MADDPGConfig, seed: int) -> MADDPGSampler:
    return MADDPGSampler(config, config.num_envs_per_sampler, seed)


def make_maddpg_learner(config: MADDPGConfig, device) -> MADDPGLearner:
    return MADDPGLearner(config, device)


class MADDPGDriver(OffPolicyDriver):
    make_sampler = make_maddpg_sampler
    make_learner = make_maddpg_learner
    learner_gauges = ("critic_loss", "actor_loss")


class MADDPGTrainable(OffPolicyTrainable):
    algorithm = "MADDPG"
    driver_class = MADDPGDriver

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return maddpg_config(exp, learner_gpus)

    @classmethod
    def acting_policies(cls, exp, state):
        """Each actor's deterministic action: logits (Discrete) or a Gaussian with a tiny std
        around it in the env's units (Box; `--explore` then adds almost nothing)."""
        core, groups, actors = build_maddpg_policies(cls.build_config(exp, 0))
        policies = {}
        for policy_id, actor in actors.items():
            actor.load_state_dict(state["policy_weights"][policy_id])
            actor.eval()
            policies[policy_id] = actor if actor.discrete else _box_params(actor)
        return policies, slot_policies(core, groups).__getitem__


def _box_params(actor):
    def params(rows):
        mean = actor(rows)
        return torch.cat([mean, torch.full_like(mean, -10.0)], -1)

    return params
