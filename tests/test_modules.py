"""Custom RLModules: built from the experiment file, right shapes, one training iteration,
and the action mask's guarantee (masked actions have probability zero)."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

import envs
from envs.schema import ConfigError
from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.rllib.algorithm_config import build_algorithm_config
from marl_ray.rllib.modules import module_view

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tune_configs" / "grid_world_ppo.yaml"
TINY = [
    "stop.training_iteration=1",
    "stop.timesteps_total=null",
    "stop.time_total_s=null",
    "stop.metric={}",
    "training.train_batch_size=400",
    "training.minibatch_size=200",
    "training.num_epochs=1",
    "resources.num_envs_per_env_runner=2",
    "resources.num_env_runners=0",  # sample in the trial actor: one process fewer per test
]


def _module(overrides: list[str], policy: str = "shared"):
    exp = load_experiment(DEMO, overrides)
    config = build_algorithm_config(exp)
    env = envs.make_rllib(exp.env.name, exp.env.config, view=module_view(exp.model.module))
    spec = config.get_multi_rl_module_spec(env=env)
    return spec.build()[policy], exp


@pytest.mark.parametrize("shared_trunk", [False, True])
def test_mlp_module_shapes(shared_trunk):
    options = f"{{hidden_sizes: [32, 16], activation: relu, shared_trunk: {shared_trunk}}}"
    module, exp = _module(["model.module=mlp", f"model.options={options}"])
    core = envs.make_batched(exp.env.name, 8, exp.env.config)
    obs, _ = core.reset(seed=0)
    batch = {Columns.OBS: torch.as_tensor(obs.reshape(16, -1))}
    out = module.forward_train(batch)
    assert out[Columns.ACTION_DIST_INPUTS].shape == (16, 5)
    assert module.compute_values(batch).shape == (16,)
    assert hasattr(module, "value_trunk") != shared_trunk
    assert [m.out_features for m in module.trunk if isinstance(m, torch.nn.Linear)] == [32, 16]


@pytest.mark.parametrize("module_name", ["mlp", "centralized_critic"])
def test_initial_log_std_sets_the_gaussian_spread_for_box_actions(module_name):
    exp = load_experiment(
        ROOT / "tune_configs" / "smart_grid_ppo.yaml",
        [f"model.module={module_name}", "model.options={initial_log_std: -1.5}"],
    )
    env = envs.make_rllib(exp.env.name, exp.env.config, view=module_view(module_name))
    module = build_algorithm_config(exp).get_multi_rl_module_spec(env=env).build()["storage"]
    samples = [env.get_observation_space("storage_0").sample() for _ in range(4)]
    if isinstance(samples[0], dict):
        obs = {k: torch.as_tensor(np.stack([o[k] for o in samples])) for k in samples[0]}
    else:
        obs = torch.as_tensor(np.stack(samples))
    dist_inputs = module.forward_train({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    assert dist_inputs.shape == (4, 2)
    torch.testing.assert_close(dist_inputs[:, 1], torch.full((4,), -1.5))
    assert dist_inputs[:, 0].std() > 0  # the means still depend on the observation
    with pytest.raises(ConfigError, match="initial_log_std must be in"):
        build_algorithm_config(
            load_experiment(
                DEMO, [f"model.module={module_name}", "model.options={initial_log_std: 5}"]
            )
        )


def test_module_options_are_validated():
    with pytest.raises(ConfigError, match="unknown key model.options.widths; allowed"):
        build_algorithm_config(
            load_experiment(DEMO, ["model.module=mlp", "model.options={widths: 3}"])
        )
    with pytest.raises(ConfigError, match="model.options configure a model.module"):
        load_experiment(DEMO, ["model.options={hidden_sizes: [8]}"])
    with pytest.raises(ConfigError, match="not available with DQN; allowed: default"):
        load_experiment(DEMO, ["algorithm=DQN", "model.module=mlp", "training={}"])


MASKED = ["env.config.action_mask=true", "model.module=action_mask"]


def test_masked_actions_have_zero_probability_and_no_gradient():
    module, exp = _module(MASKED)
    core = envs.make_batched(exp.env.name, 64, exp.env.config)
    obs, _ = core.reset(seed=1)
    view = core.observation_view(obs.reshape(128, -1))
    mask = torch.as_tensor(view["action_mask"]).bool()
    assert (~mask).any(), "some agents must start on an edge"
    batch = {Columns.OBS: {k: torch.as_tensor(v) for k, v in view.items()}}
    logits = module.forward_train(batch)[Columns.ACTION_DIST_INPUTS]
    dist = module.get_train_action_dist_cls().from_logits(logits)
    probs = torch.softmax(logits, -1)
    assert torch.all(probs[~mask] == 0) and torch.allclose(probs.sum(-1), torch.ones(128))
    samples = torch.stack([dist.sample() for _ in range(200)])  # [200, 128]
    assert mask.gather(1, samples.T).all(), "a masked action was sampled"
    valid = mask.float().argmax(-1)  # a valid action per row: log-probs stay finite
    dist.logp(valid).sum().backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


CTDE = ["model.module=centralized_critic", "env.config.num_agents=3", "env.config.grid_size=6"]


def test_centralized_critic_acts_on_own_observation_and_values_the_state():
    module, exp = _module(CTDE)
    env = envs.make_rllib(exp.env.name, exp.env.config, view="global_state")
    obs, _ = env.reset(seed=0)
    own = torch.as_tensor(np.stack([o["observations"] for o in obs.values()]))
    state = torch.as_tensor(np.stack([o["state"] for o in obs.values()]))
    batch = {Columns.OBS: {"observations": own, "state": state}}
    other = {Columns.OBS: {"observations": own, "state": torch.rand_like(state)}}
    logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    assert logits.shape == (3, 5)
    assert torch.equal(logits, module.forward_inference(other)[Columns.ACTION_DIST_INPUTS])
    values = module.compute_values(batch)
    assert values.shape == (3,)
    assert not torch.allclose(values, module.compute_values(other))  # the critic reads the state
    own_only = {Columns.OBS: {"observations": torch.rand_like(own), "state": state}}
    assert not torch.allclose(values, module.compute_values(own_only))  # and the agent's view


IMAGE = ["env.config.observation=image", "model.module=grid_cnn"]


def test_grid_cnn_reads_image_planes():
    module, exp = _module([*IMAGE, "model.options={conv_channels: [8], hidden_sizes: [32]}"])
    core = envs.make_batched(exp.env.name, 4, exp.env.config)
    obs, _ = core.reset(seed=0)
    images = core.observation_view(obs.reshape(8, -1))
    assert images.shape == (8, 4, 5, 5)
    # Plane 0 marks the agent itself, plane 2 the shared target: one cell each.
    assert np.all(images[:, 0].sum(axis=(1, 2)) == 1) and np.all(images[:, 2].sum(axis=(1, 2)) == 1)
    batch = {Columns.OBS: torch.as_tensor(images)}
    assert module.forward_train(batch)[Columns.ACTION_DIST_INPUTS].shape == (8, 5)
    assert module.compute_values(batch).shape == (8,)
    with pytest.raises(ValueError, match="observation: image"):
        _module(["model.module=grid_cnn"])


COMM = ["model.module=attention_comm", "env.config.num_agents=3", "env.config.grid_size=6"]


def test_attention_comm_attends_over_present_peers_only():
    module, exp = _module([*COMM, "model.options={embed_size: 16, num_heads: 2}"])
    env = envs.make_rllib(exp.env.name, exp.env.config, view="peers")
    obs, _ = env.reset(seed=0)
    batch = {k: torch.as_tensor(np.stack([o[k] for o in obs.values()])) for k in obs["agent_0"]}
    assert batch["peers"].shape == (3, 2, batch["observations"].shape[1])
    out = module.forward_train({Columns.OBS: batch})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (3, 5)
    assert module.compute_values({Columns.OBS: batch}).shape == (3,)
    _, weights = module.attend(batch)
    assert weights.shape == (3, 3) and torch.allclose(weights.sum(-1), torch.ones(3))
    batch["peers_mask"] = torch.tensor([[1, 0], [0, 0], [1, 1]], dtype=torch.int8)
    _, weights = module.attend(batch)
    assert weights[0, 2] == 0 and torch.all(weights[1, 1:] == 0) and weights[1, 0] == 1
    # Changing an absent peer's observation changes nothing.
    before = module.forward_inference({Columns.OBS: batch})[Columns.ACTION_DIST_INPUTS]
    batch["peers"][1] += 5.0
    after = module.forward_inference({Columns.OBS: batch})[Columns.ACTION_DIST_INPUTS]
    assert torch.allclose(before[1], after[1])


def test_action_mask_module_needs_dict_observations():
    with pytest.raises(ValueError, match="Dict observations"):
        _module(["model.module=action_mask"])


@pytest.mark.parametrize(
    "overrides",
    [MASKED, CTDE, IMAGE, COMM],
    ids=["action_mask", "mappo", "grid_cnn", "attention_comm"],
)  # `mlp` trains in test_domain_training (smart_grid_ppo.yaml)
def test_one_training_iteration_and_evaluation(ray_session, tmp_path, capsys, overrides):
    argv = ["train", str(DEMO)]
    argv += [a for o in [*TINY, *overrides, f"storage_path={tmp_path}"] for a in ("--set", o)]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["training_iterations"] == 1
    assert main(["evaluate", summary["checkpoint"], "--episodes", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 4 and np.isfinite(result["episode_return_mean"])


def test_grid_world_mask_marks_moves_off_the_grid():
    core = envs.make_batched("grid_world", 1, {"grid_size": 4, "action_mask": True})
    core.reset(seed=0)
    core.place(0, positions=[[0, 0], [3, 3]], targets=[[1, 2]])
    mask = core.observation_view(core._observe()[0])["action_mask"]
    # up, down, left, right, stay
    np.testing.assert_array_equal(mask, [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    assert isinstance(core.observation_spaces["agent_0"], gym.spaces.Dict)
