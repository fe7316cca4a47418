"""IQL / VDN / QMIX on the multi-agent core, without Ray: sampler, replay, learner."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import ray
import torch

from envs.schema import ConfigError
from marl_ray.algorithms.core.q_network import QModelConfig, epsilon_greedy, linear_epsilon
from marl_ray.algorithms.core.q_rollout import CHUNK_FIELDS, QSampler
from marl_ray.algorithms.core.replay import SequenceReplay
from marl_ray.algorithms.value_decomposition.config import QConfig
from marl_ray.algorithms.value_decomposition.driver import QDriver
from marl_ray.algorithms.value_decomposition.learner import QLearner, build_q_policies
from marl_ray.algorithms.value_decomposition.local import LocalQTrainer
from marl_ray.cli import main

TWO_STEP = QConfig(
    env="two_step_game",
    env_config={},
    num_envs_per_sampler=16,
    sequence_length=4,
    learning_starts=500,
    batch_size=32,
    target_update_interval=100,
    epsilon_decay_steps=10_000,
)


def sampler(config: QConfig, num_envs: int = 8, seed: int = 0) -> QSampler:
    _, groups, nets = build_q_policies(config)
    return QSampler(config.env, config.env_config, num_envs, groups, nets, seed)


def test_epsilon_greedy_respects_masks_and_epsilon():
    g = torch.Generator().manual_seed(0)
    q = torch.tensor([[1.0, 5.0, 3.0]]).repeat(4000, 1)
    allowed = torch.tensor([[True, False, True]]).repeat(4000, 1)
    greedy = epsilon_greedy(q, allowed, 0.0, g)
    assert bool((greedy == 2).all())
    mixed = epsilon_greedy(q, allowed, 0.5, g)
    assert not bool((mixed == 1).any())
    assert 0.2 < float((mixed == 0).float().mean()) < 0.3  # half explore, half of those pick 0
    assert linear_epsilon(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert linear_epsilon(1.0, 0.1, 100, 500) == pytest.approx(0.1)


def test_sampler_records_joint_chunks_with_absent_slots_terminated():
    config = replace(TWO_STEP, env="vehicles", env_config={"max_seconds": 20, "action_bins": 5})
    chunk = sampler(config, num_envs=4).rollout(30, epsilon=1.0)
    assert set(chunk) == set(CHUNK_FIELDS)
    assert chunk["obs"].shape[:3] == (30, 4, 12) and chunk["state"].shape[:2] == (30, 4)
    absent = ~chunk["present"]
    assert bool(absent.any()) and bool(chunk["terminated"][absent].all())
    assert float(chunk["rewards"][absent].abs().sum()) == 0.0


def test_masked_actions_are_never_taken():
    config = replace(TWO_STEP, env="grid_world", env_config={"grid_size": 4, "action_mask": True})
    chunk = sampler(config, num_envs=8).rollout(40, epsilon=0.5)
    width = chunk["obs"].shape[-1] - 5
    allowed = chunk["obs"][..., width:]
    taken = torch.gather(allowed, -1, chunk["actions"].long()[..., None]).squeeze(-1)
    assert bool((taken == 1).all())


def test_replay_keeps_the_newest_sequences_and_samples_time_major():
    replay = SequenceReplay(capacity_transitions=12, sequence_length=4, seed=0)
    for i in range(3):  # 2 sequences each; capacity 3 sequences
        replay.add({"x": torch.full((4, 2), float(i))})
    assert len(replay) == 12 and replay.added == 6
    held = sorted(replay.storage["x"][:, 0].tolist())
    assert held == [1.0, 2.0, 2.0]  # the oldest (0, 0, 1) were overwritten
    batch = replay.sample(5)
    assert batch["x"].shape == (4, 5)
    restored = SequenceReplay(12, 4)
    restored.load_state_dict(replay.state_dict())
    assert torch.equal(restored.storage["x"], replay.storage["x"]) and len(restored) == 12
    with pytest.raises(ValueError, match="at least one sequence"):
        SequenceReplay(3, 4)


@pytest.mark.parametrize("mixer", ["none", "vdn", "qmix"])
def test_absent_agents_change_no_loss(mixer):
    config = replace(
        TWO_STEP, env="vehicles", env_config={"max_seconds": 20, "action_bins": 5}, mixer=mixer
    )
    chunk = sampler(config, num_envs=4).rollout(8, epsilon=1.0)
    absent = ~chunk["present"]
    assert bool(absent.any())
    noisy = dict(chunk)
    g = torch.Generator().manual_seed(1)
    for key in ("obs", "rewards"):
        noise = torch.randn(chunk[key].shape, generator=g) * 1e3
        where = absent.reshape(*absent.shape, *([1] * (chunk[key].dim() - 3)))
        noisy[key] = torch.where(where, noise.to(chunk[key].dtype), chunk[key])
    clean_stats = QLearner(config).update(chunk)
    noisy_stats = QLearner(config).update(noisy)
    assert clean_stats["loss"] == pytest.approx(noisy_stats["loss"], rel=1e-6)


def test_continuous_actions_are_refused():
    with pytest.raises(ConfigError, match="need Discrete actions"):
        QLearner(replace(TWO_STEP, env="resource_allocation"))


def test_qmix_solves_the_two_step_game():
    trainer = LocalQTrainer(replace(TWO_STEP, mixer="qmix"))
    trainer.train(12_000)
    assert np.mean(trainer.greedy_returns(16, seed=5)) == 8.0


def test_learner_state_round_trip():
    learner = QLearner(replace(TWO_STEP, mixer="qmix"))
    chunk = sampler(TWO_STEP).rollout(4, epsilon=1.0)
    learner.update(chunk)
    again = QLearner(replace(TWO_STEP, mixer="qmix", seed=5))
    again.load_state_dict(learner.state_dict())
    assert again.updates == 1
    for k, v in learner.mixer.state_dict().items():
        assert torch.equal(v, again.mixer.state_dict()[k])
    network = QModelConfig(hidden_sizes=[8])
    assert QLearner(replace(TWO_STEP, network=network)).nets["shared"].body[0].out_features == 8


@pytest.mark.parametrize("recurrent", [False, True])
def test_cli_trains_and_evaluates_qmix(ray_session, tmp_path, capsys, recurrent):
    config = str(Path(__file__).resolve().parents[1] / "tune_configs" / "qmix_two_step.yaml")
    sets = [
        "stop.training_iteration=1",
        "training.extra.updates_per_iteration=10",
        f"storage_path={tmp_path}",
    ]
    if recurrent:
        sets += ["training.extra.recurrent=true", "training.extra.burn_in=1"]
    assert main(["train", config, *[a for s in sets for a in ("--set", s)], "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["algorithm"] == "QMIX" and summary["timesteps"] >= 500
    assert main(["evaluate", summary["checkpoint"], "--episodes", "6", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 6 and result["episode_return_mean"] in (0.0, 1.0, 7.0, 8.0)


def test_driver_replaces_a_killed_sampler_and_keeps_the_replay_ratio(ray_session):
    config = replace(TWO_STEP, num_samplers=2, num_cpus_per_sampler=0.25, updates_per_iteration=20)
    driver = QDriver(config, "qmix/test-kill", metrics=None)
    try:
        driver.train()
        victim = driver.samplers[0]
        ray.kill(victim)
        figures = driver.train()
        assert driver.restarts >= 1 and driver.samplers[0] is not victim
        steps_per_chunk = config.sequence_length * config.num_envs_per_sampler
        assert driver.env_steps == driver.chunks * steps_per_chunk
        assert figures["replay_size"] == min(
            driver.chunks * steps_per_chunk, config.buffer_capacity
        )
        assert driver.updates == 40 and 0 < figures["epsilon"] < 1
    finally:
        driver.stop()


RECURRENT = replace(
    TWO_STEP, network=QModelConfig(hidden_sizes=[32], recurrent=True, rnn_hidden=16)
)


def vehicles_recurrent(mixer: str = "qmix", burn_in: int = 0) -> QConfig:
    env_config = {"max_seconds": 20, "action_bins": 5}
    return replace(RECURRENT, env="vehicles", env_config=env_config, mixer=mixer, burn_in=burn_in)


def test_recurrent_learner_unrolls_the_hidden_states_the_sampler_acted_with():
    """Greedy actions of a recurrent sampler, across episode ends and agents joining and
    leaving, are the argmax of the Q values the learner unrolls from the stored state."""
    config = vehicles_recurrent()
    learner = QLearner(config)
    acting = sampler(config, num_envs=4)
    acting.set_weights(learner.get_weights()[1])
    acting.rollout(8, epsilon=0.0)  # a chunk that starts from a non-zero hidden state
    chunk = acting.rollout(24, epsilon=0.0)
    assert chunk["hidden"].shape == (1, 4, 12, 16) and chunk["hidden"].abs().sum() > 0
    assert bool(chunk["first"][1:].any())  # histories restart inside the chunk
    with torch.no_grad():
        q, _ = learner._unroll(learner.nets, chunk, burn_in=0)
    present = chunk["present"]
    assert torch.equal(q.argmax(-1)[present], chunk["actions"].long()[present])
    stale = dict(chunk, hidden=torch.zeros_like(chunk["hidden"]))
    with torch.no_grad():
        q_stale, _ = learner._unroll(learner.nets, stale, burn_in=0)
    assert not torch.allclose(q_stale[0], q[0])  # the stored state matters


def test_burn_in_steps_enter_no_loss():
    config = vehicles_recurrent(mixer="vdn", burn_in=3)
    chunk = sampler(config, num_envs=4).rollout(config.sequence_length, epsilon=1.0)
    changed = dict(chunk, rewards=chunk["rewards"].clone())
    changed["rewards"][:3] += 100.0  # n_step 1: only steps 0-2's own targets read them
    assert QLearner(config).update(chunk)["loss"] == pytest.approx(
        QLearner(config).update(changed)["loss"], rel=1e-6
    )
    changed["rewards"][3] += 100.0
    assert QLearner(config).update(changed)["loss"] != pytest.approx(
        QLearner(config).update(chunk)["loss"], rel=1e-3
    )


def test_recurrent_absent_agents_change_no_loss():
    config = vehicles_recurrent(mixer="qmix")
    chunk = sampler(config, num_envs=4).rollout(config.sequence_length, epsilon=1.0)
    absent = ~chunk["present"]
    assert bool(absent.any())
    noise = torch.randn(chunk["obs"].shape, generator=torch.Generator().manual_seed(2)) * 1e3
    noisy = dict(chunk, obs=torch.where(absent[..., None], noise, chunk["obs"]))
    clean, dirty = QLearner(config).update(chunk), QLearner(config).update(noisy)
    assert clean["loss"] == pytest.approx(dirty["loss"], rel=1e-6)


def test_burn_in_needs_recurrent_agents():
    with pytest.raises(ConfigError, match="burn_in needs recurrent"):
        replace(TWO_STEP, burn_in=2)
    with pytest.raises(ConfigError, match="burn_in"):
        replace(RECURRENT, burn_in=4)


def test_recurrent_qmix_solves_the_two_step_game():
    trainer = LocalQTrainer(replace(RECURRENT, mixer="qmix", burn_in=1))
    trainer.train(12_000)
    assert np.mean(trainer.greedy_returns(16, seed=5)) == 8.0
