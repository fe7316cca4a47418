"""IQL, VDN and QMIX as Tune `Trainable`s (one class each: the registry names them)."""

from __future__ import annotations

from marl_ray.algorithms.core.policy_map import slot_policies
from marl_ray.algorithms.core.q_network import QPolicy
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
        """Each policy's Q values as the logits of its greedy action (`QPolicy`: masked
        actions never chosen, recurrent agents keep their hidden state); `--explore` samples
        softmax(Q), not epsilon-greedy."""
        core, groups, nets = build_q_policies(cls.build_config(exp, 0))
        policies = {}
        for group in groups:
            net = nets[group.policy_id]
            net.load_state_dict(state["policy_weights"][group.policy_id])
            net.eval()
            policies[group.policy_id] = QPolicy(net, len(group.columns))
        return policies, slot_policies(core, groups).__getitem__


class IQLTrainable(_QTrainable):
    algorithm = "IQL"


class VDNTrainable(_QTrainable):
    algorithm = "VDN"


class QMIXTrainable(_QTrainable):
    algorithm = "QMIX"
