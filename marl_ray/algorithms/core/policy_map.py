"""Which policy acts for which agent: `multi_agent.policies` over a batched core's agent axis.

The naming is the one RLlib's path uses (`marl_ray.rllib.algorithm_config` reads it from
here), so a checkpoint's policy ids mean the same on both paths: `shared` for one policy,
the agent id for `independent`, the agent id without its index for `by_group`
(`consumer_2` -> `consumer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

import envs
from envs.schema import ConfigError
from marl_ray.trainables import POLICY_SETUPS

SHARED_POLICY = "shared"


def agent_group(agent_id: str) -> str:
    """An agent's type: its id without the trailing index (`consumer_2` -> `consumer`)."""
    return agent_id.rsplit("_", 1)[0]


@dataclass(frozen=True)
class PolicyGroup:
    """One policy and the agent slots (columns of the core's `[E, A]` axis) it acts for."""

    policy_id: str
    columns: tuple[int, ...]
    observation_space: gym.Space
    action_space: gym.Space


def policy_groups(core: envs.BatchedEnv, setup: str, algorithm: str) -> list[PolicyGroup]:
    """The policies of `setup` on `core`, each built from its own agents' spaces (agents that
    share a policy must share their spaces). Agents that join and leave occupy slots, so only
    setups that do not name individual agents apply to them."""
    if setup not in POLICY_SETUPS:
        raise ConfigError(f"multi_agent.policies={setup!r}; allowed: {', '.join(POLICY_SETUPS)}")
    if setup == "self_play":
        raise ConfigError(
            f"multi_agent.policies=self_play needs an opponent pool, which {algorithm} does "
            "not keep; allowed for it: shared, independent, by_group (self-play: PPO or APPO)"
        )
    slots = core.possible_agents
    if core.dynamic_agents:
        if setup == "independent":  # experiment files are refused earlier (the registry)
            raise ConfigError(f"{core.name}: agents join and leave; use shared or by_group")
        groups = sorted({agent_group(a) for a in core.episode_agent_ids})
        if setup == "by_group" and len(groups) > 1:
            raise ConfigError(
                f"{core.name}: by_group over agents that join and leave needs one agent type, "
                f"found {groups}; use shared"
            )
        names = {SHARED_POLICY: slots} if setup == "shared" else {groups[0]: slots}
    elif setup == "shared":
        names = {SHARED_POLICY: slots}
    elif setup == "independent":
        names = {a: (a,) for a in slots}
    else:
        names = {g: tuple(a for a in slots if agent_group(a) == g) for g in _ordered_groups(slots)}
    return [_group(core, policy_id, agents, setup) for policy_id, agents in names.items()]


def _ordered_groups(agents: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(agent_group(a) for a in agents))


def _group(core: envs.BatchedEnv, policy_id: str, agents, setup: str) -> PolicyGroup:
    first = agents[0]
    obs_space, act_space = core.observation_spaces[first], core.action_spaces[first]
    for agent in agents[1:]:
        if core.observation_spaces[agent] != obs_space or core.action_spaces[agent] != act_space:
            hint = (
                "use multi_agent.policies: by_group (one policy per agent type) or independent"
                if setup == "shared"
                else "use multi_agent.policies: independent"
            )
            raise ConfigError(
                f"{core.name}: policy {policy_id!r} ({setup}) needs the same spaces for all its "
                f"agents, but {agent} differs from {first}; {hint}"
            )
    columns = tuple(core.possible_agents.index(a) for a in agents)
    return PolicyGroup(policy_id, columns, obs_space, act_space)


def slot_policies(core: envs.BatchedEnv, groups: list[PolicyGroup]) -> dict[str, str]:
    """The policy id acting for each slot of the core's agent axis (by slot name)."""
    return {core.possible_agents[c]: g.policy_id for g in groups for c in g.columns}
