"""One policy's actor-critic for our multi-agent algorithms, built from its agents' spaces.

The actor reads the agent's own observation; the critic reads the same (`critic_input: own`)
or the env's global `state()` joined with the agent's own observation (`global_state`,
MAPPO's agent-specific global state). Observations with an `action_mask` (the PettingZoo
convention, a `{"observations", "action_mask"}` Dict that the batched core stores as one flat
row) have their masked actions' logits set to the lowest float: never sampled, probability
and gradient exactly zero. Box actions are a diagonal Gaussian in the env's own units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

import envs
from envs.core import flat_bounds
from envs.observation_views import view_spaces
from envs.schema import ConfigError, check
from marl_ray.algorithms.core.networks import ACTIVATIONS, NetworkConfig, build_encoder
from marl_ray.algorithms.core.policy_map import PolicyGroup, policy_groups

CRITIC_INPUTS = ("own", "global_state")
OBS_KEY, MASK_KEY = "observations", "action_mask"
HALF_LOG_TWO_PI = 0.5 * float(np.log(2 * np.pi))


@dataclass(frozen=True)
class PolicyModelConfig:
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Actor MLP layers."""
    critic_hidden_sizes: list[int] | None = None
    """Critic MLP layers (default: the actor's)."""
    activation: Literal["tanh", "relu", "silu"] = "tanh"
    critic_input: Literal["own", "global_state"] = "own"
    initial_log_std: float = 0.0
    """Box actions: the Gaussian's starting log standard deviation."""
    encoder: Literal["mlp", "conv"] = "mlp"
    """`conv`: 3x3 convolutions (`conv_channels`) before the MLP layers, for image-like
    `[H, W, C]` observations (actor and own-observation critic)."""
    conv_channels: list[int] = field(default_factory=lambda: [16, 32])
    shared_trunk: bool = False
    """Actor and critic share the hidden layers (a value head on the actor's trunk): RLlib's
    `vf_share_layers` / the `mlp` module's `shared_trunk`; own-observation critic only."""
    peers: bool = False
    """`attention_comm`: the agent attends over the other agents' observations
    (`attention_network.py`); `embed_size`, `num_heads` size the attention."""
    embed_size: int = 64
    num_heads: int = 4

    def __post_init__(self) -> None:
        sizes = [*self.hidden_sizes, *(self.critic_hidden_sizes or []), *self.conv_channels]
        check(all(h > 0 for h in sizes), f"hidden sizes must be positive, got {sizes}")
        check(
            not (self.encoder == "conv" and self.critic_input == "global_state"),
            "encoder: conv reads image observations; the global-state critic reads flat "
            "vectors: use encoder: mlp with centralized_critic",
        )
        check(
            not self.peers or (self.critic_input == "own" and self.encoder == "mlp"),
            "attention_comm reads flat observations and shares its features with the critic "
            "(no global-state critic, no conv encoder)",
        )
        check(
            self.embed_size > 0 and self.num_heads > 0 and self.embed_size % self.num_heads == 0,
            f"embed_size ({self.embed_size}) must be a positive multiple of num_heads "
            f"({self.num_heads})",
        )
        check(
            not (self.shared_trunk and self.critic_input == "global_state"),
            "a shared trunk reads the agent's own observation; the global-state critic "
            "(centralized_critic) needs its own network",
        )


@dataclass(frozen=True)
class ObservationLayout:
    """Where a core row (`[D]`, flat) keeps the observation proper and the action mask."""

    obs_index: tuple[int, ...]
    obs_shape: tuple[int, ...]
    mask_index: tuple[int, ...] = ()

    @classmethod
    def of(cls, core: envs.BatchedEnv, agent: str) -> ObservationLayout:
        space = core.observation_spaces[agent]
        index = core.possible_agents.index(agent)
        width = len(flat_bounds(space)[0])
        if isinstance(space, gym.spaces.Box):
            return cls(tuple(range(width)), space.shape)
        if isinstance(space, gym.spaces.Dict) and set(space.spaces) == {OBS_KEY, MASK_KEY}:
            # The core's own view of a row of positions says which positions hold what.
            view = core.observation_view(np.arange(width, dtype=np.float64), index)
            obs_index = tuple(int(i) for i in np.ravel(view[OBS_KEY]))
            mask_index = tuple(i for i in range(width) if i not in set(obs_index))
            return cls(obs_index, space[OBS_KEY].shape, mask_index)
        raise ConfigError(
            f"{core.name}: observations must be a Box or a Dict of {{{OBS_KEY!r}, "
            f"{MASK_KEY!r}}}, got {space}"
        )

    @property
    def masked(self) -> bool:
        return bool(self.mask_index)


def _trunk_and_head(
    shape: tuple[int, ...], hidden: list[int], config: PolicyModelConfig, out: int, gain: float
) -> nn.Sequential:
    """Encoder (MLP, or convolutions then MLP) and a linear head; orthogonal init (gain
    sqrt 2 inside, `gain` for the head: small for a near-uniform first policy)."""
    encoder_config = NetworkConfig(
        encoder=config.encoder,
        hidden_sizes=hidden,
        activation=config.activation,
        conv_channels=config.conv_channels,
    )
    trunk, size = build_encoder(shape, encoder_config, ACTIVATIONS[config.activation])
    head = nn.Linear(size, out)
    for module in trunk.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            nn.init.orthogonal_(module.weight, np.sqrt(2))
            nn.init.zeros_(module.bias)
    nn.init.orthogonal_(head.weight, gain)
    nn.init.zeros_(head.bias)
    return nn.Sequential(trunk, head)


class PolicyNetwork(nn.Module):
    """`forward(rows, state) -> (distribution parameters, value)`: logits `[N, n]` (masked)
    or Gaussian means and log stds joined `[N, 2k]`; `state` `[N, S]` only for the
    global-state critic."""

    reads_peers = False
    """Rows come in the peers layout (`rows_with_peers`), not as the agent's core row."""

    def __init__(
        self,
        layout: ObservationLayout,
        action_space: gym.Space,
        state_size: int,
        config: PolicyModelConfig,
    ):
        super().__init__()
        out = self._set_up_rows_and_actions(layout, action_space, config)
        obs_size = len(layout.obs_index)
        self.actor = _trunk_and_head(layout.obs_shape, config.hidden_sizes, config, out, 0.01)
        self.global_state = config.critic_input == "global_state"
        self.shared_trunk = config.shared_trunk
        if self.shared_trunk:  # a value head on the actor's trunk
            self.critic = nn.Linear(self.actor[1].in_features, 1)
            nn.init.orthogonal_(self.critic.weight, 1.0)
            nn.init.zeros_(self.critic.bias)
        else:
            critic_shape = (state_size + obs_size,) if self.global_state else layout.obs_shape
            critic_hidden = config.critic_hidden_sizes or config.hidden_sizes
            self.critic = _trunk_and_head(critic_shape, critic_hidden, config, 1, 1.0)
        self._actor_layers = leaf_layers(self.actor)
        self._trunk_layers = self._actor_layers[:-1]
        self._critic_layers = leaf_layers(self.critic)

    def _set_up_rows_and_actions(
        self, layout: ObservationLayout, action_space: gym.Space, config: PolicyModelConfig
    ) -> int:
        """What every policy network reads of a row (observation and action-mask indices)
        and its action distribution (Gaussian log stds for Box); returns the actor head's
        output size."""
        self.config = config
        self.register_buffer("obs_index", torch.tensor(layout.obs_index), persistent=False)
        self.register_buffer("mask_index", torch.tensor(layout.mask_index, dtype=torch.long),
                             persistent=False)  # fmt: skip
        if isinstance(action_space, gym.spaces.Discrete):
            self.discrete, out = True, int(action_space.n)
            if layout.masked and len(layout.mask_index) != out:
                raise ConfigError(
                    f"action_mask has {len(layout.mask_index)} entries for {out} actions"
                )
        elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
            if layout.masked:
                raise ConfigError("action masks need Discrete actions")
            if not (np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()):
                raise ConfigError(f"Box actions need finite bounds, got {action_space}")
            self.discrete, out = False, action_space.shape[0]
            self.log_std = nn.Parameter(torch.full((out,), float(config.initial_log_std)))
        else:
            raise ConfigError(f"actions must be Discrete or a 1-D Box, got {action_space}")
        self.masked = layout.masked
        self.obs_shape = layout.obs_shape
        self.rows_are_observations = (
            not layout.masked
            and len(layout.obs_shape) == 1
            and layout.obs_index == tuple(range(len(layout.obs_index)))
        )
        """A core row as wide as the observation is the observation itself: no columns to
        pick (rows padded for a wider agent of the same env still are)."""
        return out

    @property
    def separate_critic(self) -> bool:
        """Actor and critic share no parameter: their losses differentiate apart."""
        return not (self.reads_peers or self.shared_trunk)

    def own_observations(self, rows: torch.Tensor) -> torch.Tensor:
        """The observation proper of core rows `[N, D]`, in its own shape `[N, *obs_shape]`."""
        if self.rows_are_observations and rows.dim() == 2 and rows.shape[1] == len(self.obs_index):
            return rows
        return rows.flatten(1)[:, self.obs_index].reshape(-1, *self.obs_shape)

    def policy(self, rows: torch.Tensor) -> torch.Tensor:
        """Distribution parameters for core rows `[N, D]`."""
        return self._head(rows, run_layers(self._actor_layers, self.own_observations(rows)))

    def _head(self, rows: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The actor's outputs -> distribution parameters (masks applied, log stds joined)."""
        if self.masked:
            allowed = rows.flatten(1)[:, self.mask_index] > 0.5
            out = out.masked_fill(~allowed, torch.finfo(out.dtype).min)
        if not self.discrete:
            out = torch.cat([out, self.log_std.expand_as(out)], dim=-1)
        return out

    def value(self, rows: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        inputs = self.own_observations(rows)
        if self.shared_trunk:
            return self.critic(run_layers(self._trunk_layers, inputs)).squeeze(-1)
        if self.global_state:
            inputs = torch.cat([state, inputs.flatten(1)], dim=-1)
        return run_layers(self._critic_layers, inputs).squeeze(-1)

    def forward(
        self, rows: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.shared_trunk:  # one pass through the trunk for both heads
            features = run_layers(self._trunk_layers, self.own_observations(rows))
            return self._head(rows, self.actor[1](features)), self.critic(features).squeeze(-1)
        return self.policy(rows), self.value(rows, state)

    def act(
        self, rows: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One acting step: actions drawn with `generator` and their log-probabilities. The
        same draws as `distribution(policy(rows))` would make, without building
        distribution objects (they cost as much as the forward pass on a sampler's small
        batches)."""
        return sample_with_log_prob(self.policy(rows), self.discrete, generator)

    def log_prob_and_entropy(
        self, params: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a) and the entropy of `distribution(params)` per row, computed directly
        (one log-softmax, no distribution objects: a learner calls this per minibatch)."""
        if self.discrete:
            log_p = torch.log_softmax(params, dim=-1)
            entropy = -(log_p.exp() * log_p).sum(dim=-1)  # masked actions: 0 * finite
            return log_p.gather(-1, actions.long()[:, None]).squeeze(-1), entropy
        mean, log_std = params.chunk(2, dim=-1)
        log_prob = gaussian_log_density((actions - mean) * torch.exp(-log_std), log_std)
        entropy = (0.5 + HALF_LOG_TWO_PI + log_std).sum(dim=-1)
        return log_prob, entropy

    def distribution(self, params: torch.Tensor) -> Distribution:
        """The policy for `policy()`'s parameters (arguments not re-validated: they come from
        the network, and the checks cost as much as the forward pass on small batches)."""
        if self.discrete:
            return Categorical(logits=params, validate_args=False)
        mean, log_std = params.chunk(2, dim=-1)
        return Independent(Normal(mean, log_std.exp(), validate_args=False), 1, validate_args=False)


def leaf_layers(module: nn.Module) -> list[nn.Module]:
    """The layers of a network built from nested `nn.Sequential`s, in order."""
    children = list(module.children())
    if not isinstance(module, nn.Sequential) or not children:
        return [module]
    return [leaf for child in children for leaf in leaf_layers(child)]


def run_layers(layers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """`layers` applied in order through their `forward` (what `nn.Sequential` does, minus
    the per-call hook machinery that costs as much as the layers on a sampler's batch)."""
    for layer in layers:
        x = layer.forward(x)
    return x


def sample_with_log_prob(
    params: torch.Tensor, discrete: bool, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Actions from `PolicyNetwork` distribution parameters and log pi(a): a categorical
    draw by the Gumbel-max trick (argmax of logits plus Gumbel noise), or mean + std x
    standard normal noise with the diagonal Gaussian's log density."""
    if discrete:
        log_p = torch.log_softmax(params, dim=-1)
        uniform = torch.rand(log_p.shape, generator=generator).clamp_(min=1e-20)
        actions = (log_p - torch.log(-torch.log(uniform))).argmax(dim=-1)
        return actions, log_p.gather(-1, actions[:, None]).squeeze(-1)
    mean, log_std = params.chunk(2, dim=-1)
    noise = torch.randn(mean.shape, generator=generator)
    return mean + log_std.exp() * noise, gaussian_log_density(noise, log_std)


def gaussian_log_density(z: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(a; mean, std) summed over the action's dimensions, from z = (a - mean) / std."""
    return (-0.5 * z.square() - log_std - HALF_LOG_TWO_PI).sum(dim=-1)


def build_policy_networks(
    core: envs.BatchedEnv, groups, config: PolicyModelConfig, seed: int
) -> dict[str, PolicyNetwork]:
    """One network per policy group; initial weights a function of `seed` alone (each policy
    from its own offset), torch's global RNG left as it was."""
    if config.critic_input == "global_state" and core.state_space.shape is None:
        raise ConfigError(f"{core.name} has no global state()")
    if config.peers:
        if core.num_agents < 2:
            raise ConfigError(f"attention_comm needs other agents; {core.name} has one")
        view_spaces(core, "peers")  # every agent observed alike, or a clear error
    state_size = int(np.prod(core.state_space.shape))
    nets = {}
    for index, group in enumerate(groups):
        layout = ObservationLayout.of(core, core.possible_agents[group.columns[0]])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1_000_003 + index)
            if config.peers:
                from marl_ray.algorithms.core.attention_network import AttentionPolicyNetwork

                nets[group.policy_id] = AttentionPolicyNetwork(
                    layout, group.action_space, state_size, config, core.num_agents
                )
            else:
                nets[group.policy_id] = PolicyNetwork(
                    layout, group.action_space, state_size, config
                )
    return nets


def build_policies(
    config, algorithm: str
) -> tuple[envs.BatchedEnv, list[PolicyGroup], dict[str, PolicyNetwork]]:
    """From an algorithm config on the multi-agent core (`env`, `env_config`, `policies`,
    `network`, `seed`): a one-copy core of the env, the policy groups of `policies`
    (`multi_agent.policies`) and their initial networks (a function of `seed`)."""
    core = envs.make_batched(config.env, 1, config.env_config)
    groups = policy_groups(core, config.policies, algorithm)
    return core, groups, build_policy_networks(core, groups, config.network, config.seed)
