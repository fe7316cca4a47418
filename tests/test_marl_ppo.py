"""marl_ray's distributed PPO and the multi-agent core under it: policy mapping, presence
masks, action masks, the global-state critic, the learner, the Ray loop, checkpoints, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import ray
import torch

import envs
from envs.observation_views import rows_with_peers
from envs.schema import ConfigError
from marl_ray.algorithms.core.multi_agent_rollout import MultiAgentSampler, PolicyRollout
from marl_ray.algorithms.core.policy_map import policy_groups, slot_policies
from marl_ray.algorithms.core.policy_network import PolicyModelConfig, build_policies
from marl_ray.algorithms.core.transfer import TransferCount, nbytes
from marl_ray.algorithms.ppo.config import PPOConfig, ppo_config
from marl_ray.algorithms.ppo.driver import PPODriver
from marl_ray.algorithms.ppo.learner import PPOLearner
from marl_ray.algorithms.ppo.trainable import PPOTrainable
from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.param_space import make_param_space

ROOT = Path(__file__).resolve().parents[1]
GRID = str(ROOT / "tune_configs" / "grid_world_marl_ppo.yaml")
SMALL = PPOConfig(
    env="grid_world",
    env_config={},
    num_workers=2,
    num_envs_per_worker=8,
    num_cpus_per_worker=0.5,
    train_batch_size=160,
    minibatch_size=64,
    num_epochs=2,
)


def sampler_for(config: PPOConfig, num_envs: int = 8, seed: int = 1) -> MultiAgentSampler:
    _, groups, nets = build_policies(config, "MARL_PPO")
    return MultiAgentSampler(config.env, config.env_config, num_envs, groups, nets, seed)


# ---- policy mapping ---------------------------------------------------------------------


def test_policy_setups_map_slots_to_policies():
    core = envs.make_batched("smart_grid", 1, {})
    by_group = policy_groups(core, "by_group", "MARL_PPO")
    assert [g.policy_id for g in by_group] == ["thermal", "renewable", "consumer", "storage"]
    mapping = slot_policies(core, by_group)
    assert all(mapping[a] == a.rsplit("_", 1)[0] for a in core.possible_agents)
    independent = policy_groups(core, "independent", "MARL_PPO")
    assert [g.columns for g in independent] == [(i,) for i in range(core.num_agents)]
    grid = envs.make_batched("grid_world", 1, {"num_agents": 3})
    (shared,) = policy_groups(grid, "shared", "MARL_PPO")
    assert shared.policy_id == "shared" and shared.columns == (0, 1, 2)


def test_bad_policy_setups_are_refused_with_what_is_allowed():
    grid = envs.make_batched("smart_grid", 1, {})
    with pytest.raises(ConfigError, match="by_group"):
        policy_groups(grid, "shared", "MARL_PPO")  # heterogeneous observation spaces
    with pytest.raises(ConfigError, match="opponent pool"):
        policy_groups(envs.make_batched("grid_world", 1, {}), "self_play", "MARL_PPO")
    with pytest.raises(ConfigError, match="join and leave"):
        policy_groups(envs.make_batched("vehicles", 1, {}), "independent", "MARL_PPO")


def test_config_refuses_modules_it_cannot_build_and_uneven_batches():
    with pytest.raises(ConfigError, match="allowed: default, mlp, centralized_critic"):
        ppo_config(load_experiment(GRID, ["model.module=grid_cnn"]))
    with pytest.raises(ConfigError, match="multiple of the env copies"):
        ppo_config(load_experiment(GRID, ["training.train_batch_size=100"]))
    with pytest.raises(ConfigError, match="ES does not train"):  # one shared network
        load_experiment(
            str(ROOT / "tune_configs" / "es_grid_world.yaml"), ["multi_agent.policies=independent"]
        )


def test_the_rllib_module_options_carry_over():
    exp = load_experiment(
        GRID,
        [
            "model.module=centralized_critic",
            "model.options={hidden_sizes: [32], critic_hidden_sizes: [48, 48]}",
        ],
    )
    network = ppo_config(exp).network
    assert network == PolicyModelConfig(
        hidden_sizes=[32], critic_hidden_sizes=[48, 48], critic_input="global_state"
    )


# ---- sampling -----------------------------------------------------------------------------


def test_masked_actions_are_never_taken():
    config = replace(SMALL, env_config={"grid_size": 4, "action_mask": True})
    sampler = sampler_for(config, num_envs=16)
    batch = sampler.rollout(40)["shared"]
    core = sampler.env
    width = len(core.observation_spaces[core.possible_agents[0]]["observations"].low.ravel())
    allowed = batch.obs[..., width:]  # grid world keeps the mask after the observation
    taken = torch.gather(allowed, -1, batch.actions[..., None]).squeeze(-1)
    assert bool((taken == 1).all()) and bool((allowed == 0).any())


def test_global_state_critic_reads_the_state_beside_each_row():
    config = replace(SMALL, network=PolicyModelConfig(critic_input="global_state"))
    sampler = sampler_for(config, num_envs=4)
    state = torch.as_tensor(sampler.env.state())
    batch = sampler.rollout(1)["shared"]
    assert batch.state.shape == (1, 4 * 2, state.shape[-1])
    torch.testing.assert_close(batch.state[0, 0], state[0])
    torch.testing.assert_close(batch.state[0, 1], state[0])  # agent 1 of copy 0
    torch.testing.assert_close(batch.state[0, 2], state[1])


def test_absent_vehicles_never_act_and_their_rows_are_masked():
    config = replace(
        SMALL, env="vehicles", env_config={"max_seconds": 20}, network=PolicyModelConfig()
    )
    sampler = sampler_for(config, num_envs=4)
    batch = sampler.rollout(60)["shared"]
    assert 0 < float(batch.mask.float().mean()) < 1
    assert bool(batch.terminated[~batch.mask].all())
    assert float(batch.rewards[~batch.mask].abs().sum()) == 0.0


def test_truncated_rows_bootstrap_from_the_state_they_reached():
    config = replace(SMALL, env_config={"max_steps": 5})
    sampler = sampler_for(config, num_envs=4)
    batch = sampler.rollout(12)["shared"]
    cut = batch.truncated
    assert bool(cut.any())
    assert bool((batch.truncation_values[cut] != 0).all())
    assert float(batch.truncation_values[~cut].abs().sum()) == 0.0


# ---- learning ---------------------------------------------------------------------------


def garbage_in_absent_rows(batch: PolicyRollout, seed: int = 0) -> PolicyRollout:
    g = torch.Generator().manual_seed(seed)
    absent = ~batch.mask

    def noisy(x):
        noise = torch.randn(x.shape, generator=g) * 1e3
        where = absent.reshape(*absent.shape, *([1] * (x.dim() - 2)))
        return torch.where(where, noise.to(x.dtype), x)

    return batch._replace(
        obs=noisy(batch.obs),
        log_probs=noisy(batch.log_probs),
        rewards=noisy(batch.rewards),
        actions=torch.where(absent[..., None], torch.full_like(batch.actions, 0.7), batch.actions)
        if batch.actions.dim() == 3
        else batch.actions,
    )


def test_garbage_in_absent_rows_changes_no_loss_and_no_weight():
    config = replace(SMALL, env="vehicles", env_config={"max_seconds": 20}, train_batch_size=4 * 60)
    batch = sampler_for(config, num_envs=4).rollout(60)
    assert not bool(batch["shared"].mask.all())
    clean, noisy = PPOLearner(config), PPOLearner(config)
    clean_stats = clean.update([batch], env_steps=0, behaviour_version=0)
    noisy_stats = noisy.update(
        [{"shared": garbage_in_absent_rows(batch["shared"])}], env_steps=0, behaviour_version=0
    )
    assert clean_stats == noisy_stats
    for k, v in clean.policy_weights()["shared"].items():
        assert torch.equal(v, noisy.policy_weights()["shared"][k])


def test_an_update_improves_the_clipped_objective_on_its_batch():
    config = replace(SMALL, lr=1e-3, num_epochs=4)
    learner = PPOLearner(config)
    batch = sampler_for(config, num_envs=16).rollout(10)
    stats = learner.update([batch], env_steps=0, behaviour_version=0)
    shared = stats["shared"]
    assert shared["approx_kl"] > 0 and 0 <= shared["clip_fraction"] <= 1
    assert shared["present_rows"] == 16 * 10 * 2
    assert stats["policy_lag"] == 0.0 and learner.version == 1


def test_the_learner_values_every_row_with_its_own_critic():
    """Samplers run no critic per step; the learner values the rows (and the rows after the
    last step) with its critic as it is, a minibatch at a time: the same as row by row."""
    config = replace(SMALL, network=PolicyModelConfig(critic_input="global_state"))
    batch = sampler_for(config, num_envs=4).rollout(13)["shared"]  # 104 rows, minibatch 64
    assert "values" not in batch._fields
    learner = PPOLearner(config)
    net = learner.nets["shared"]
    values, bootstrap = learner._values(net, batch)
    T, R = batch.rewards.shape
    with torch.no_grad():
        for t in range(T):
            for r in range(R):
                expected = net.value(batch.obs[t, r][None], batch.state[t, r][None])[0]
                torch.testing.assert_close(values[t, r], expected, rtol=1e-5, atol=1e-6)
        expected = net.value(batch.bootstrap_obs, batch.bootstrap_state)
        torch.testing.assert_close(bootstrap, expected)


def test_a_stale_batch_is_clipped_around_the_current_policy():
    """Lag 1 (lookahead): the proximal policy is the learner's own before the update, so the
    first minibatch starts inside the clip; `behaviour` is plain PPO. Lag 0: the same."""
    config = replace(SMALL, lr=3e-3, num_epochs=4)
    sampler = sampler_for(config, num_envs=16)
    first, stale = sampler.rollout(10), sampler.rollout(10)  # both on the initial weights
    updated = {}
    for proximal in ("current", "behaviour"):
        learner = PPOLearner(replace(config, proximal_policy=proximal))
        fresh = learner.update([first], env_steps=0, behaviour_version=0)
        updated[proximal] = (learner, fresh)
    for k, v in updated["current"][0].policy_weights()["shared"].items():  # no lag: equal
        assert torch.equal(v, updated["behaviour"][0].policy_weights()["shared"][k])
    assert updated["current"][1] == updated["behaviour"][1]
    for learner, _ in updated.values():
        learner.set_hyperparameters(lr=0.0)  # the policy stays where the first update left it
    lagged = {p: learner.update([stale], 0, 0) for p, (learner, _) in updated.items()}
    assert lagged["current"]["policy_lag"] == lagged["behaviour"]["policy_lag"] == 1.0
    # the step the clip bounds: none from the current policy, the first update's from the
    # behaviour policy, which has rows beyond the clip before any step
    assert lagged["current"]["shared"]["approx_kl"] < 1e-6
    assert lagged["current"]["shared"]["clip_fraction"] == 0.0
    assert lagged["behaviour"]["shared"]["approx_kl"] > 1e-4
    assert lagged["behaviour"]["shared"]["clip_fraction"] > 0.0
    with pytest.raises(ConfigError, match=r"proximal_policy must be one of \['current'"):
        ppo_config(load_experiment(GRID, ["training.extra.proximal_policy=newest"]))


def test_each_policy_has_its_own_network_and_batch():
    config = replace(SMALL, env="smart_grid", env_config={}, policies="by_group")
    learner = PPOLearner(config)
    before = learner.policy_weights()
    batch = sampler_for(config, num_envs=4).rollout(12)
    assert set(batch) == {"thermal", "renewable", "consumer", "storage"}
    assert batch["consumer"].obs.shape[1] == 3 * batch["thermal"].obs.shape[1]
    stats = learner.update([batch], env_steps=0, behaviour_version=0)
    after = learner.policy_weights()
    for policy in batch:
        assert stats[policy]["present_rows"] == batch[policy].mask.sum()
        assert any(not torch.equal(before[policy][k], after[policy][k]) for k in after[policy])


def test_schedules_follow_env_steps():
    config = replace(
        SMALL, lr_schedule=[[0, 1e-3], [1000, 1e-4]], entropy_schedule=[[0, 0.1], [1000, 0.0]]
    )
    learner = PPOLearner(config)
    batch = sampler_for(config, num_envs=16).rollout(10)
    stats = learner.update([batch], env_steps=500, behaviour_version=0)
    assert stats["lr"] == pytest.approx(5.5e-4) and stats["entropy_coef"] == pytest.approx(0.05)


def test_same_seed_same_learner_and_actions():
    first, second = PPOLearner(SMALL), PPOLearner(SMALL)
    for k, v in first.policy_weights()["shared"].items():
        assert torch.equal(v, second.policy_weights()["shared"][k])
    a, b = sampler_for(SMALL).rollout(5), sampler_for(SMALL).rollout(5)
    assert torch.equal(a["shared"].actions, b["shared"].actions)


# ---- on Ray -----------------------------------------------------------------------------


def test_driver_counts_every_rollout_once_and_replaces_a_killed_worker(ray_session):
    """With lookahead (sampling overlaps the update: lag 1); the trainable test below runs
    without it (lag 0)."""
    config = replace(SMALL, lookahead=True)
    driver = PPODriver(config, "marl_ppo/test-lookahead", metrics=None)
    try:
        driver.train()
        victim = driver.workers[1]
        ray.kill(victim)
        figures = None
        for _ in range(3):
            figures = driver.train()
        assert driver.restarts == 1 and driver.workers[1] is not victim
        assert driver.env_steps == driver.updates * config.train_batch_size == 4 * 160
        assert figures["policy_lag"] == 1.0
        # Bytes handed between actors in the last iteration: one batch per worker, and the
        # weights loaded for them (whole copies; with lookahead a batch may have been started
        # on weights its worker already held).
        weights = nbytes(ray.get(driver.learner.get_weights.remote())[1])
        assert figures["weights_bytes"] % weights == 0
        assert 0 < figures["weights_bytes"] <= config.num_workers * weights
        assert figures["trajectory_bytes"] > 0
        assert figures["transfer_bytes_per_iteration"] == (
            figures["weights_bytes"] + figures["trajectory_bytes"]
        )
    finally:
        driver.stop()


def test_trainable_checkpoint_round_trip_and_fake_gpu(ray_session, tmp_path):
    exp = load_experiment(
        GRID,
        [
            "training.train_batch_size=256",
            "training.minibatch_size=128",
            "resources.num_envs_per_env_runner=8",
            "resources.num_env_runners=1",
            "training.extra.updates_per_iteration=2",
        ],
    )
    space = make_param_space(exp, 1, False)  # the session's fake GPU: the learner falls back
    request = PPOTrainable.default_resource_request(space)
    assert sum(b.get("GPU", 0) for b in request.bundles) == 1
    first = PPOTrainable(config=space)
    try:
        assert ray.get(first.driver.learner.device.remote()) == "cpu"
        result = first.train()
        assert result["learners"]["shared"]["present_rows"] == 2 * 256
        assert result["learners"]["policy_lag"] == 0.0
        first.save_checkpoint(str(tmp_path))
        saved = ray.get(first.driver.learner.state_dict.remote())
    finally:
        first.stop()
    second = PPOTrainable(config=make_param_space(exp, 0, False))
    try:
        second.load_checkpoint(str(tmp_path))
        restored = ray.get(second.driver.learner.state_dict.remote())
        assert restored["version"] == saved["version"] == 2
        for k, v in saved["weights"]["shared"].items():
            assert torch.equal(v, restored["weights"]["shared"][k])
        assert restored["value_stats"] == saved["value_stats"]
        assert second.driver.env_steps == first.driver.env_steps
        assert second.train()["learners"]["learner_updates"] == 4
        changed = load_experiment(GRID, ["training.lr=0.0042", "training.entropy_coeff=0.03"])
        assert second.reset_config(make_param_space(changed, 0, False))
        stats = second.train()["learners"]
        assert stats["lr"] == 0.0042 and stats["entropy_coef"] == 0.03
    finally:
        second.stop()


ONE_SMALL_ITERATION = [
    "stop.training_iteration=1",
    "stop.metric={}",
    "resources.num_envs_per_env_runner=8",
    "resources.num_env_runners=1",
    "training.extra.updates_per_iteration=1",
]


def train_one_iteration(capsys, sets: list[str]) -> dict:
    """`marl-ray train` of the grid world file with one small iteration and `sets`; its
    JSON summary."""
    sets = [*ONE_SMALL_ITERATION, *sets]
    assert main(["train", GRID, *[a for s in sets for a in ("--set", s)], "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_trains_and_evaluates_mappo_by_group_on_the_smart_grid(ray_session, tmp_path, capsys):
    summary = train_one_iteration(
        capsys,
        [
            "env.name=smart_grid",
            "env.config={}",
            "multi_agent.policies=by_group",
            "model.module=centralized_critic",
            "tune.metric=episode_return_mean",
            "training.train_batch_size=384",
            "training.minibatch_size=256",
            f"storage_path={tmp_path}",
        ],
    )
    assert summary["algorithm"] == "MARL_PPO" and summary["timesteps"] == 384
    args = ["evaluate", summary["checkpoint"], "--episodes", "4", "--json"]
    for extra in ([], ["--explore", "--render", str(tmp_path / "day.png")]):
        assert main(args + extra) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["episodes"] == 4 and np.isfinite(result["episode_return_mean"])
        assert set(result["policy_returns"]) == {"thermal", "renewable", "consumer", "storage"}
    assert Path(result["render"]).is_file()


def test_a_shared_trunk_feeds_both_heads_in_one_pass():
    exp = load_experiment(GRID, ["model.vf_share_layers=true"])
    config = ppo_config(exp)
    assert config.network.shared_trunk
    _, _, nets = build_policies(config, "MARL_PPO")
    net = nets["shared"]
    rows = torch.randn(5, 8)
    params, value = net(rows)
    torch.testing.assert_close(params, net.policy(rows))
    torch.testing.assert_close(value, net.value(rows))
    assert isinstance(net.critic, torch.nn.Linear)  # only a head of its own
    with pytest.raises(ConfigError, match="needs its own network"):
        PolicyModelConfig(shared_trunk=True, critic_input="global_state")


# ---- attention_comm -------------------------------------------------------------------------

ATTENTION = PolicyModelConfig(hidden_sizes=[32], peers=True, embed_size=16, num_heads=2)


def test_rows_with_peers_match_a_literal_layout():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(3, 4, 5)).astype(np.float32)
    present = rng.random((3, 4)) > 0.3
    cols = [1, 3]
    rows = rows_with_peers(obs, present, cols)
    assert rows.shape == (3 * 2, 5 + 3 * 5 + 3)
    for e in range(3):
        for j, c in enumerate(cols):
            peers = [(c + k) % 4 for k in range(1, 4)]
            expected = np.concatenate(
                [obs[e, c], *[obs[e, p] for p in peers], present[e, peers].astype(np.float32)]
            )
            np.testing.assert_array_equal(rows[e * 2 + j], expected)


def test_attention_comm_never_reads_absent_peers():
    config = replace(SMALL, env="vehicles", env_config={"max_seconds": 20}, network=ATTENTION)
    sampler = sampler_for(config, num_envs=4)
    batch = sampler.rollout(40)["shared"]
    net = sampler.nets["shared"]
    rows = batch.obs.flatten(0, 1)
    d, p = net.row_width, net.num_peers
    absent = rows[:, d + p * d :] < 0.5
    assert bool(absent.any())
    noisy = rows.clone()
    peer_part = noisy[:, d : d + p * d].reshape(-1, p, d)
    peer_part[absent] = torch.randn(int(absent.sum()), d) * 1e3
    noisy[:, d : d + p * d] = peer_part.reshape(-1, p * d)
    with torch.no_grad():
        for clean_out, noisy_out in zip(net(rows), net(noisy), strict=True):
            torch.testing.assert_close(clean_out, noisy_out)


def test_attention_comm_is_refused_without_peers():
    with pytest.raises(ConfigError, match="needs other agents"):
        build_policies(replace(SMALL, env_config={"num_agents": 1}, network=ATTENTION), "MARL_PPO")
    with pytest.raises(ConfigError, match="no global-state critic"):
        PolicyModelConfig(peers=True, critic_input="global_state")


def test_cli_trains_and_evaluates_attention_comm(ray_session, tmp_path, capsys):
    summary = train_one_iteration(
        capsys,
        [
            "env.config={grid_size: 5, num_agents: 3, mode: cooperative}",
            "model.module=attention_comm",
            "model.options={embed_size: 16, num_heads: 2, hidden_sizes: [32]}",
            "training.train_batch_size=256",
            "training.minibatch_size=128",
            f"storage_path={tmp_path}",
        ],
    )
    assert summary["algorithm"] == "MARL_PPO" and summary["timesteps"] == 256
    assert main(["evaluate", summary["checkpoint"], "--episodes", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 4 and np.isfinite(result["episode_return_mean"])


def test_transfer_bytes_count_every_array_once():
    batch = {
        "a": torch.zeros(3, 4),
        "b": [np.zeros(5, np.float64), (torch.zeros(2, dtype=torch.int8),)],
    }
    assert nbytes(batch) == 3 * 4 * 4 + 5 * 8 + 2
    count = TransferCount()
    count.add("trajectory", 100)
    count.add("weights", 50)
    count.add("trajectory", 10)
    figures = count.figures(elapsed_s=2.0)
    assert figures == {
        "transfer_bytes_per_iteration": 160.0,
        "transfer_bytes_per_s": 80.0,
        "trajectory_bytes": 110.0,
        "weights_bytes": 50.0,
    }
    assert count.figures(1.0)["transfer_bytes_per_iteration"] == 0.0  # counting starts again


STALE_SETUPS = {
    "smart_grid_by_group": dict(env="smart_grid", env_config={}, policies="by_group"),
    "vehicles_masks": dict(env="vehicles", env_config={"max_seconds": 20}),
    "vehicles_attention_comm": dict(
        env="vehicles", env_config={"max_seconds": 20}, network=ATTENTION
    ),
    "grid_shared_trunk": dict(network=PolicyModelConfig(shared_trunk=True)),
    "grid_global_state_critic": dict(network=PolicyModelConfig(critic_input="global_state")),
}


@pytest.mark.parametrize("setup", sorted(STALE_SETUPS))
def test_the_proximal_policy_is_the_learners_own_in_every_setup(setup):
    """Lag 1 with the learner frozen after its first update: every policy's stale rows start
    (and stay) exactly at the proximal policy, whatever its network, actions or masks."""
    config = replace(SMALL, **STALE_SETUPS[setup], train_batch_size=4 * 12)
    sampler = sampler_for(config, num_envs=4)
    first, stale = sampler.rollout(12), sampler.rollout(12)
    learner = PPOLearner(config)
    learner.update([first], env_steps=0, behaviour_version=0)
    learner.set_hyperparameters(lr=0.0)
    stats = learner.update([stale], env_steps=0, behaviour_version=0)
    assert stats["policy_lag"] == 1.0
    for policy_id in learner.nets:
        figures = stats[policy_id]
        if figures["present_rows"]:
            assert figures["approx_kl"] < 1e-6 and figures["clip_fraction"] == 0.0, policy_id
            assert np.isfinite(figures["policy_loss"]), policy_id


@pytest.mark.parametrize("setup", sorted(STALE_SETUPS))
def test_the_critic_thread_changes_no_weight_and_no_figure(setup):
    """`parallel_critic`: the actor's and the critic's losses differentiated apart, on two
    threads, give the summed loss's gradients: the same weights and figures as one thread,
    to the bit (a shared trunk or attention over peers always takes the one-thread path)."""
    config = replace(SMALL, **STALE_SETUPS[setup], train_batch_size=4 * 12)
    batch = sampler_for(config, num_envs=4).rollout(12)
    two, one = (PPOLearner(replace(config, parallel_critic=p)) for p in (True, False))
    assert two.critic_thread is not None and one.critic_thread is None
    separate = setup in ("smart_grid_by_group", "vehicles_masks", "grid_global_state_critic")
    assert all(net.separate_critic == separate for net in two.nets.values())
    for _ in range(2):  # the second update starts from the first's weights and moments
        stats_two = two.update([batch], env_steps=0, behaviour_version=two.version)
        stats_one = one.update([batch], env_steps=0, behaviour_version=one.version)
        assert stats_two == stats_one
    for policy_id, weights in two.policy_weights().items():
        for k, v in weights.items():
            assert torch.equal(v, one.policy_weights()[policy_id][k]), (policy_id, k)
