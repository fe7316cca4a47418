"""AlphaZero: loss against its formula, replay, learner, self-play targets, and the whole loop
on the session's Ray (promotion, a killed self-play actor, the shared inference actor on a fake
GPU, checkpoints, the CLI and the Python player API)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import ray
import torch

from envs.board_games import make_game
from envs.schema import ConfigError
from marl_ray.algorithms.alphazero.config import alphazero_config
from marl_ray.algorithms.alphazero.driver import AlphaZeroDriver
from marl_ray.algorithms.alphazero.evaluation import load_player
from marl_ray.algorithms.alphazero.evaluators import NetworkEvaluator, UniformEvaluator
from marl_ray.algorithms.alphazero.learner import AlphaZeroLearner
from marl_ray.algorithms.alphazero.mcts import SearchConfig
from marl_ray.algorithms.alphazero.network import NetworkConfig, PolicyValueNet
from marl_ray.algorithms.alphazero.replay import Positions, ReplayBuffer
from marl_ray.algorithms.alphazero.self_play import SelfPlay
from marl_ray.algorithms.alphazero.trainable import AlphaZeroTrainable
from marl_ray.algorithms.core.losses import policy_value_loss
from marl_ray.cli import main
from marl_ray.config import load_experiment
from marl_ray.param_space import make_param_space

ROOT = Path(__file__).resolve().parents[1]
TICTACTOE = str(ROOT / "tune_configs" / "alphazero_tictactoe.yaml")
TTT = make_game("tictactoe")
TINY = [
    "training.extra.channels=8",
    "training.extra.res_blocks=1",
    "training.extra.value_hidden=8",
    "training.extra.games_per_iteration=8",
    "training.extra.num_simulations=10",
    "training.extra.min_replay=20",
    "training.extra.train_steps_per_iteration=3",
    "training.train_batch_size=16",
    "training.extra.eval_games=2",
    "training.extra.baseline_games=2",
    "training.extra.baseline_interval=2",
    "resources.num_envs_per_env_runner=4",
]


def test_loss_matches_its_formula():
    torch.manual_seed(0)
    logits, values = torch.randn(5, 9), torch.tanh(torch.randn(5))
    pi = torch.softmax(torch.randn(5, 9), -1)
    z = torch.tensor([1.0, -1.0, 0.0, 1.0, -1.0])
    params = [torch.randn(3, 3), torch.randn(4)]
    loss = policy_value_loss(logits, values, pi, z, params, l2_coef=0.01)
    ce = (
        sum(
            -sum(
                pi[b, a] * torch.log(torch.exp(logits[b, a]) / torch.exp(logits[b]).sum())
                for a in range(9)
            )
            for b in range(5)
        )
        / 5
    )
    mse = sum((z[b] - values[b]) ** 2 for b in range(5)) / 5
    l2 = 0.01 * sum(float(x) ** 2 for p in params for x in p.reshape(-1))
    assert float(loss.policy) == pytest.approx(float(ce), rel=1e-5)
    assert float(loss.value) == pytest.approx(float(mse), rel=1e-5)
    assert float(loss.l2) == pytest.approx(l2, rel=1e-5)
    assert float(loss.total) == pytest.approx(float(ce + mse) + l2, rel=1e-5)


def _positions(n, offset=0):
    planes = np.zeros((n, 3, 3, 3), dtype=np.uint8)
    planes[np.arange(n), 0, 0, 0] = 1
    policies = np.zeros((n, 9), dtype=np.float32)
    policies[:, 0] = 1.0  # the policy points at the stone's cell
    return Positions(planes, policies, np.arange(offset, offset + n, dtype=np.float32))


def test_replay_is_a_ring_and_augments_planes_and_policies_together(tmp_path):
    buffer = ReplayBuffer(TTT, capacity=10)
    buffer.add(_positions(7))
    buffer.add(_positions(6, offset=7))
    assert buffer.size == 10 and sorted(buffer.values.tolist()) == list(range(3, 13))
    batch = buffer.sample(64, np.random.default_rng(0))
    cells = batch.planes[:, 0].reshape(64, 9).argmax(1)
    assert np.array_equal(cells, batch.policies.argmax(1))  # moved together
    assert len(set(cells)) == 4  # a corner stone has four images under the symmetries
    restored = ReplayBuffer(TTT, capacity=10)
    restored.load_state_dict(buffer.state_dict())
    restored.add(_positions(1, offset=13))
    buffer.add(_positions(1, offset=13))
    assert np.array_equal(restored.values, buffer.values)


def test_learner_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    learner = AlphaZeroLearner(TTT, NetworkConfig(8, 1, 8), lr=1e-2, l2=1e-4, device="cpu")
    batch = Positions(
        np.random.default_rng(0).integers(0, 2, (32, 3, 3, 3)).astype(np.float32),
        np.eye(9, dtype=np.float32)[np.arange(32) % 9],
        np.linspace(-1, 1, 32, dtype=np.float32),
    )
    first = learner.step(batch)["total_loss"]
    for _ in range(30):
        last = learner.step(batch)["total_loss"]
    assert last < first * 0.8


def test_self_play_targets_are_results_for_the_mover():
    play = SelfPlay(TTT, SearchConfig(num_simulations=8), 9, 3, np.random.default_rng(0))
    positions, stats = play.play(5, UniformEvaluator(TTT))
    assert stats.games == 5 and len(positions.values) == stats.moves == sum(stats.lengths)
    assert np.allclose(positions.policies.sum(1), 1.0)
    start = 0
    for result, length in zip(stats.first_player_results, stats.lengths, strict=True):
        z = positions.values[start : start + length]
        first_mover = positions.planes[start : start + length, 2, 0, 0] == 1
        assert np.all(z[first_mover] == result) and np.all(z[~first_mover] == -result)
        start += length


def test_network_evaluator_gives_legal_priors_and_bounded_values():
    evaluator = NetworkEvaluator(TTT, PolicyValueNet(TTT, NetworkConfig(8, 1, 8)))
    priors, values = evaluator([TTT.play("4"), TTT.initial_state()])
    assert priors.shape == (2, 9) and np.allclose(priors.sum(1), 1)
    assert np.all(np.abs(values) <= 1)


def test_config_errors_say_what_is_allowed():
    with pytest.raises(ConfigError, match="not a board game; ALPHAZERO plays connect4, tictactoe"):
        alphazero_config(load_experiment(TICTACTOE, ["env.name=grid_world"]))
    with pytest.raises(ConfigError, match="unknown key training.extra.simulations"):
        alphazero_config(load_experiment(TICTACTOE, ["training.extra.simulations=3"]))
    with pytest.raises(ConfigError, match="ALPHAZERO does not use training.gamma"):
        alphazero_config(load_experiment(TICTACTOE, ["training.gamma=0.9"]))
    with pytest.raises(ConfigError, match="unknown opponent"):
        alphazero_config(load_experiment(TICTACTOE, ["training.extra.baseline_opponents=[x]"]))


def test_loop_promotes_replaces_a_killed_actor_and_reports(ray_session):
    exp = load_experiment(TICTACTOE, [*TINY, "training.extra.promotion_threshold=0.5"])
    driver = AlphaZeroDriver(alphazero_config(exp), "alphazero/test-loop", metrics=None)
    try:
        first = driver.train()
        assert first["replay_size"] > 20 and "total_loss" not in first  # filling the buffer
        ray.kill(driver.workers[0])
        second = driver.train()
        assert driver.restarts == 1 and driver.games == 16
        assert second["total_loss"] > 0 and second["evaluation"]["candidate_score"] >= 0
        assert driver.best_version == second["evaluation"]["promoted"]
        assert {"score_vs_random", "score_vs_minimax"} <= set(second["evaluation"])
        assert second["simulations_per_s"] > 0 and second["games_per_s"] > 0
    finally:
        driver.stop()


def test_trainable_checkpoint_round_trip_with_inference_actor_on_a_fake_gpu(ray_session, tmp_path):
    exp = load_experiment(TICTACTOE, TINY)
    space = make_param_space(exp, 1, False)  # the session's fake GPU: everything on CPU
    request = AlphaZeroTrainable.default_resource_request(space)
    assert sum(b.get("GPU", 0) for b in request.bundles) == 1
    first = AlphaZeroTrainable(config=space)
    try:
        assert first.driver.inference is not None  # auto: the trainer has a GPU
        assert ray.get(first.driver.trainer.device.remote()) == "cpu"
        first.train()
        first.train()
        first.save_checkpoint(str(tmp_path))
        saved = ray.get(first.driver.trainer.state_dict.remote())
        replay = ray.get(first.driver.replay.size.remote())
    finally:
        first.stop()
    second = AlphaZeroTrainable(config=make_param_space(exp, 0, False))
    try:
        assert second.driver.inference is None
        second.load_checkpoint(str(tmp_path))
        restored = ray.get(second.driver.trainer.state_dict.remote())
        assert restored["steps"] == saved["steps"] == 3
        for k, v in saved["network"].items():
            assert torch.equal(v, restored["network"][k])
        assert ray.get(second.driver.replay.size.remote()) == replay
        result = second.train()
        assert result["learners"]["games"] == 24
    finally:
        second.stop()


def test_cli_trains_evaluates_and_loads_a_player(ray_session, tmp_path, capsys):
    sets = [*TINY, "stop.training_iteration=2", f"storage_path={tmp_path}"]
    assert main(["train", TICTACTOE, *[a for s in sets for a in ("--set", s)], "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["algorithm"] == "ALPHAZERO" and summary["timesteps"] > 0
    gif = tmp_path / "game.gif"
    args = ["evaluate", summary["checkpoint"], "--opponent", "minimax", "--episodes", "4"]
    assert main([*args, "--simulations", "20", "--render", str(gif), "--json"]) == 0
    match = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert match["wins"] + match["draws"] + match["losses"] == 4 and match["wins"] == 0
    assert sum(match["as_first"].values()) == sum(match["as_second"].values()) == 2
    assert gif.is_file()
    player = load_player(summary["checkpoint"], simulations=30)
    state = player.game.play("0 3 1 4")
    assert player.move(state) == 2  # takes the win in one
    assert main(["evaluate", summary["checkpoint"], "--opponent", "mcts:x"]) == 2
    assert "unknown opponent" in capsys.readouterr().err
