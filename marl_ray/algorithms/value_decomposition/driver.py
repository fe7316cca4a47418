"""IQL / VDN / QMIX on the shared off-policy loop (`marl_ray.algorithms.off_policy`): the
samplers act epsilon-greedily, epsilon falling linearly with the env steps sampled."""

from __future__ import annotations

from marl_ray.algorithms.core.q_network import linear_epsilon
from marl_ray.algorithms.core.q_rollout import QSampler
from marl_ray.algorithms.off_policy import OffPolicyDriver
from marl_ray.algorithms.value_decomposition.config import QConfig
from marl_ray.algorithms.value_decomposition.learner import QLearner, build_q_policies


def make_q_sampler(config: QConfig, seed: int) -> QSampler:
    _, groups, nets = build_q_policies(config)
    return QSampler(config.env, config.env_config, config.num_envs_per_sampler, groups, nets, seed)


def make_q_learner(config: QConfig, device) -> QLearner:
    return QLearner(config, device)


class QDriver(OffPolicyDriver):
    make_sampler = make_q_sampler
    make_learner = make_q_learner
    learner_gauges = ("td_error", "epsilon")

    @property
    def epsilon(self) -> float:
        c = self.config
        return linear_epsilon(c.epsilon_start, c.epsilon_end, c.epsilon_decay_steps, self.env_steps)

    def rollout_args(self) -> tuple:
        return (self.epsilon,)

    def extra_figures(self) -> dict[str, float]:
        return {"epsilon": self.epsilon}
