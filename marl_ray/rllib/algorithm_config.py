"""Turns an `ExperimentConfig` into an RLlib `AlgorithmConfig` on the new API stack."""

from __future__ import annotations

import dataclasses
from typing import Any

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.appo import APPO
from ray.rllib.algorithms.dqn import DQN
from ray.rllib.algorithms.impala import IMPALA
from ray.rllib.algorithms.ppo import PPO
from ray.rllib.algorithms.sac import SAC
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import envs
from envs import board_games
from envs.foreign import has_action_masks
from envs.schema import ConfigError
from marl_ray.algorithms.core.policy_map import SHARED_POLICY, agent_group, policy_groups
from marl_ray.config import ExperimentConfig
from marl_ray.rllib import self_play
from marl_ray.rllib.callbacks import SMOOTHING_WINDOW, EpisodeInfoMetrics
from marl_ray.rllib.modules import module_spec, module_view
from marl_ray.rllib.registration import env_id, register_user_env

ALGORITHM_CLASSES = {"PPO": PPO, "APPO": APPO, "IMPALA": IMPALA, "DQN": DQN, "SAC": SAC}

REPLAY_ALGORITHMS = ("DQN", "SAC")
MULTI_AGENT_REPLAY_BUFFER = "MultiAgentPrioritizedEpisodeReplayBuffer"

# Experiment-file training keys whose RLlib name differs.
RLLIB_TRAINING_NAMES = {"train_batch_size": "train_batch_size_per_learner", "gae_lambda": "lambda_"}


def shared_policy_mapping(agent_id, episode=None, **kwargs) -> str:
    """Every agent acts with the one shared policy."""
    return SHARED_POLICY


def independent_policy_mapping(agent_id, episode=None, **kwargs) -> str:
    """Each agent has a policy of its own, named after it."""
    return agent_id


def group_policy_mapping(agent_id, episode=None, **kwargs) -> str:
    """Agents of one type share a policy named after the type: `consumer_2` -> `consumer`."""
    return agent_group(agent_id)


def policy_setup(kind: str, agents: tuple[str, ...]) -> tuple[list[str], Any]:
    """Policy ids and the mapping function for a `multi_agent.policies` setting."""
    if kind == "shared":
        return [SHARED_POLICY], shared_policy_mapping
    if kind == "independent":
        return list(agents), independent_policy_mapping
    if kind == "by_group":
        return sorted({group_policy_mapping(a) for a in agents}), group_policy_mapping
    if kind == "self_play":
        first = self_play.snapshot_id(0)
        return [self_play.MAIN, first], self_play.PoolMapping(agents, (first,))
    raise ConfigError(
        f"multi_agent.policies={kind!r}; allowed: shared, independent, by_group, self_play"
    )


def resolve_learner_gpus(requested: int | str, cluster_gpus: float) -> int:
    """GPUs for the learner: 'auto' takes one if the cluster has one; N must exist."""
    if requested == "auto":
        return 1 if cluster_gpus >= 1 else 0
    if requested > cluster_gpus:
        raise ConfigError(
            f"resources.num_gpus={requested} but the Ray cluster has {cluster_gpus:g} GPU(s); "
            "use num_gpus: auto or a number the cluster has"
        )
    return int(requested)


def training_kwargs(exp: ExperimentConfig) -> dict[str, Any]:
    """Set training keys under their RLlib names, plus `training.extra` verbatim."""
    out = {}
    for f in dataclasses.fields(exp.training):
        value = getattr(exp.training, f.name)
        if f.name != "extra" and value is not None:
            out[RLLIB_TRAINING_NAMES.get(f.name, f.name)] = value
    out.update(exp.training.extra)
    return out


def rllib_env_id(exp: ExperimentConfig) -> str:
    """The registered env RLlib builds: seen through the view the module needs."""
    return env_id(exp.env.name, module_view(exp.model.module))


def rl_module_settings(exp: ExperimentConfig) -> dict[str, Any]:
    """RLlib's default model from `hidden_sizes` etc., or one of our modules by name."""
    if exp.model.module == "default":
        model = DefaultModelConfig(
            fcnet_hiddens=list(exp.model.hidden_sizes),
            fcnet_activation=exp.model.activation,
            vf_share_layers=exp.model.vf_share_layers,
        )
        return {"model_config": model}
    return {"rl_module_spec": module_spec(exp.model.module, exp.model.options)}


def _check_env_fits(exp: ExperimentConfig, core: envs.BatchedEnv) -> None:
    """What RLlib would only find inside a trial: agents sharing a policy with different
    spaces, masked observations without the module that reads masks."""
    if exp.multi_agent.policies != "self_play":
        policy_groups(core, exp.multi_agent.policies, exp.algorithm)
    if has_action_masks(core.observation_spaces) and exp.model.module != "action_mask":
        raise ConfigError(
            f"{exp.env.name}: observations carry action masks ({{observations, action_mask}}), "
            f"which model.module={exp.model.module} ignores; use model.module: action_mask"
        )


def build_algorithm_config(exp: ExperimentConfig, learner_gpus: int = 0) -> AlgorithmConfig:
    """The RLlib config for `exp`, with `learner_gpus` GPUs for the (single) learner."""
    if exp.env.name in board_games.GAMES:
        raise ConfigError(
            f"env {exp.env.name!r} is a turn-based board game; train it with algorithm: ALPHAZERO"
        )
    if not envs.is_builtin(exp.env.name):
        register_user_env(exp.env.name)
    core = envs.make_batched(exp.env.name, 1, exp.env.core_config)
    _check_env_fits(exp, core)
    agents = core.episode_agent_ids
    policies, mapping = policy_setup(exp.multi_agent.policies, agents)
    res = exp.resources
    config = (
        ALGORITHM_CLASSES[exp.algorithm]
        .get_default_config()
        .api_stack(enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True)
        .environment(
            rllib_env_id(exp),
            env_config=exp.env.core_config,
            # RLlib's env check steps random actions, blind to action masks that turn-based
            # and masked envs require; `marl-ray check-env` checks those envs instead.
            disable_env_checking=has_action_masks(core.observation_spaces),
        )
        .framework("torch")
        .env_runners(
            num_env_runners=res.num_env_runners,
            num_envs_per_env_runner=res.num_envs_per_env_runner,
            num_cpus_per_env_runner=res.num_cpus_per_env_runner,
        )
        .learners(num_learners=0, num_gpus_per_learner=learner_gpus)
        .resources(placement_strategy=res.placement_strategy)
        .multi_agent(policies=set(policies), policy_mapping_fn=mapping)
        .rl_module(**rl_module_settings(exp))
        .callbacks(EpisodeInfoMetrics)
        .reporting(metrics_num_episodes_for_smoothing=SMOOTHING_WINDOW)
        .debugging(seed=exp.seed)
    )
    if exp.multi_agent.policies == "self_play":
        settings = exp.multi_agent.self_play
        pool = self_play.GrowPool(agents, settings.win_rate_threshold, settings.min_episodes)
        config.multi_agent(policies_to_train=[self_play.MAIN])
        config.callbacks(
            on_algorithm_init=pool.on_init,
            on_train_result=pool.on_result,
            on_episode_end=self_play.LogMainWins(agents),
        )
    if exp.algorithm in REPLAY_ALGORITHMS:
        # The default single-agent buffer cannot hold multi-agent episodes.
        buffer = {**config.replay_buffer_config, "type": MULTI_AGENT_REPLAY_BUFFER}
        config.training(replay_buffer_config=buffer)
    for key, value in training_kwargs(exp).items():
        try:
            config.training(**{key: value})
        except TypeError:
            raise ConfigError(
                f"training key {key!r} is not an option of {exp.algorithm}; see RLlib's "
                f"{exp.algorithm}Config.training() for the allowed keys"
            ) from None
    try:
        config.validate()
    except ValueError as exc:
        raise ConfigError(f"RLlib rejects this {exp.algorithm} setup: {exc}") from None
    return config
