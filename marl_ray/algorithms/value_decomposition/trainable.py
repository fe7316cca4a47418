"""IQL, VDN and QMIX as Tune `Trainable`s (one class each: the registry names them)."""

from __future__ import annotations

import torch

from marl_ray.algorithms.core.policy_map import slot_policies
from marl_ray.algorithms.core.q_network import group_positions
from marl_ray.algorithms.off_policy import OffPolicyTrainable
from marl_ray.algorithms.value_decomposition.config import q_config
from marl_ray.algorithms.value_decomposition.driver import QDriver
from marl_ray.algorithms.value_decomposition.learner import build_q_policies


class _QTrainable(OffPolicyTrainable):
    driver_class = QDriver

    @classmethod
    def build_config(cls, exp, learner_gpus):
        return q_config(exp, learner_gpus)

    @classmethod
    def acting_policies(cls, exp, state):
        """Each policy's Q values as the logits of its greedy action (masked actions at the
        lowest float); `--explore` samples softmax(Q), not epsilon-greedy."""
        core, groups, nets = build_q_policies(cls.build_config(exp, 0))
        policies = {}
        for group in groups:
            net, size = nets[group.policy_id], len(group.columns)
            net.load_state_dict(state["policy_weights"][group.policy_id])
            net.eval()

            def q_logits(rows, net=net, size=size):
                q = net(rows, group_positions(len(rows) // size, size))
                allowed = net.allowed(rows)
                return q if allowed is None else q.masked_fill(~allowed, torch.finfo(q.dtype).min)

            policies[group.policy_id] = q_logits
        return policies, slot_policies(core, groups).__getitem__


class IQLTrainable(_QTrainable):
    algorithm = "IQL"


class VDNTrainable(_QTrainable):
    algorithm = "VDN"


class QMIXTrainable(_QTrainable):
    algorithm = "QMIX"
