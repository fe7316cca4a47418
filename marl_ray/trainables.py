"""The algorithm registry: every algorithm's name, Tune trainable and family, declared once.

The config's allowed `algorithm` values, `marl-ray status`'s trial classes and the runner's
choice of trainable all read this table, so a new algorithm is added here and nowhere else.
Trainables are named by import path and imported on first use (torch and RLlib are heavy).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

POLICY_SETUPS = ("shared", "independent", "by_group", "self_play")
"""`multi_agent.policies` values (`marl_ray.algorithms.core.policy_map` says what each means)."""
MODULES = ("default", "mlp", "action_mask", "centralized_critic", "grid_cnn", "attention_comm")
"""`model.module` values: RLlib's default model, or one of marl_ray's RLModules."""


@dataclass(frozen=True)
class Algorithm:
    """An algorithm and what it can train; config validation and the README's table read
    the capabilities from here."""

    name: str  # the experiment file's `algorithm:` value
    trainable: str  # "package.module:Class", the Tune trainable
    rllib: bool  # RLlib's algorithm through our wrapper, or one of marl_ray's own
    what: str  # one line for people
    actions: tuple[str, ...] = ("Discrete", "Box")
    policies: tuple[str, ...] = ("shared",)
    """`multi_agent.policies` values it accepts."""
    dynamic_agents: bool = False
    """Trains envs whose agents join and leave (`vehicles`)."""
    modules: tuple[str, ...] = ("default",)
    """`model.module` values it accepts."""
    global_state_critic: bool = False
    """Its critic can read the env's `state()` (`model.module: centralized_critic`)."""
    stochastic_policy: bool = True
    """Its policy is a distribution to sample from (evaluated greedy and sampled); value-based
    and deterministic policies are evaluated greedy only."""

    def problem(self, policies: str, module: str, dynamic_env: bool) -> str | None:
        """Why this algorithm cannot train with these settings, naming what it accepts;
        None when it can."""
        if policies not in self.policies:
            return (
                f"{self.name} does not train multi_agent.policies={policies}; allowed: "
                f"{', '.join(self.policies)} (every setup: PPO, APPO, IMPALA)"
            )
        if module not in self.modules:
            return (
                f"model.module={module} is not available with {self.name}; allowed: "
                f"{', '.join(self.modules)}"
                + ("" if len(self.modules) > 1 else " (RLlib's default model / our MLP)")
            )
        if dynamic_env and policies in ("independent", "self_play"):
            return (
                f"multi_agent.policies={policies} needs a fixed set of agents, but this env's "
                "agents join and leave (an id per vehicle); use shared or by_group"
            )
        if dynamic_env and not self.dynamic_agents:
            able = ", ".join(n for n, a in REGISTRY.items() if a.dynamic_agents)
            return (
                f"{self.name} steps a fixed set of agents, but this env's agents join and "
                f"leave during an episode; train it with one of {able}"
            )
        return None

    @property
    def trial_class_name(self) -> str:
        """The class name Ray shows for this algorithm's trial actors."""
        return self.trainable.rsplit(":", 1)[1]

    def load(self) -> type:
        module, attribute = self.trainable.split(":")
        return getattr(importlib.import_module(module), attribute)


def _rllib(name: str, what: str, **capabilities) -> Algorithm:
    return Algorithm(
        name,
        f"marl_ray.rllib.trainables:Experiment{name}",
        rllib=True,
        what=what,
        policies=POLICY_SETUPS,
        dynamic_agents=True,
        **capabilities,
    )


def _own(name: str, package: str, cls: str, what: str, **capabilities) -> Algorithm:
    trainable = f"marl_ray.algorithms.{package}.trainable:{cls}"
    return Algorithm(name, trainable, rllib=False, what=what, **capabilities)


ACTOR_CRITIC_MODULES = {"modules": MODULES, "global_state_critic": True}
# Our algorithms on the multi-agent core (marl_ray/algorithms/core/policy_map.py and friends).
CORE = {
    "policies": ("shared", "independent", "by_group"),
    "dynamic_agents": True,
    "modules": ("default", "mlp", "centralized_critic", "action_mask", "attention_comm"),
    "global_state_critic": True,
}
REGISTRY: dict[str, Algorithm] = {
    a.name: a
    for a in (
        _rllib("PPO", "RLlib's PPO", **ACTOR_CRITIC_MODULES),
        _rllib("APPO", "RLlib's asynchronous PPO", **ACTOR_CRITIC_MODULES),
        _rllib("IMPALA", "RLlib's IMPALA", **ACTOR_CRITIC_MODULES),
        _rllib("DQN", "RLlib's DQN", actions=("Discrete",), stochastic_policy=False),
        _rllib("SAC", "RLlib's SAC", actions=("Box",)),
        _own("A3C", "a3c", "A3CTrainable", "asynchronous advantage actor-critic", **CORE),
        _own("MARL_IMPALA", "impala", "ImpalaTrainable", "IMPALA with V-trace", **CORE),
        _own(
            "ES",
            "es",
            "ESTrainable",
            "evolution strategies (OpenAI ES)",
            stochastic_policy=False,
        ),
        _own(
            "ALPHAZERO",
            "alphazero",
            "AlphaZeroTrainable",
            "AlphaZero on turn-based board games",
            actions=("Discrete",),
            stochastic_policy=False,
        ),
        _own(
            "MARL_PPO",
            "ppo",
            "PPOTrainable",
            "distributed PPO (IPPO / MAPPO)",
            **CORE,
        ),
        *(
            _own(
                name,
                "value_decomposition",
                f"{name}Trainable",
                what,
                actions=("Discrete",),
                policies=CORE["policies"],
                dynamic_agents=True,
                stochastic_policy=False,
            )
            for name, what in (
                ("IQL", "independent Q-learning"),
                ("VDN", "value decomposition networks (Q_tot = sum of the agents' Q)"),
                ("QMIX", "QMIX (monotonic mixer on the global state)"),
            )
        ),
        _own(
            "MADDPG",
            "maddpg",
            "MADDPGTrainable",
            "MADDPG (centralised critics, deterministic actors)",
            policies=CORE["policies"],
            dynamic_agents=True,
            stochastic_policy=False,
        ),
    )
}
ALGORITHMS = tuple(REGISTRY)
RLLIB_ALGORITHMS = tuple(n for n, a in REGISTRY.items() if a.rllib)
OWN_ALGORITHMS = tuple(n for n, a in REGISTRY.items() if not a.rllib)
TRIAL_CLASS_NAMES = frozenset(a.trial_class_name for a in REGISTRY.values())


def capability_table() -> str:
    """The README's table of algorithms and what each trains (Markdown)."""
    rows = [
        "| algorithm | what | actions | `multi_agent.policies` | agents join and leave | "
        "`model.module` |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for a in REGISTRY.values():
        rows.append(
            f"| `{a.name}` | {a.what} | {', '.join(a.actions)} | {', '.join(a.policies)} | "
            f"{'yes' if a.dynamic_agents else 'no'} | {', '.join(a.modules)} |"
        )
    return "\n".join(rows)


def trainable_class(algorithm: str) -> type:
    if algorithm not in REGISTRY:
        raise KeyError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")
    return REGISTRY[algorithm].load()
