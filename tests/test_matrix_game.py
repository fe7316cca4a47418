"""Game theory on textbook games, and the repeated matrix game's rules."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs import game_theory as gt
from envs.matrix_game import GAMES

PD, COORD, STAG, PENNIES, CHICKEN = (
    np.array(GAMES[g][1], dtype=float)
    for g in ("prisoners_dilemma", "coordination", "stag_hunt", "matching_pennies", "chicken")
)


def test_prisoners_dilemma():
    assert gt.pure_nash_equilibria(PD) == [(1, 1)]  # mutual defection
    assert sorted(gt.pareto_optimal(PD)) == [(0, 0), (0, 1), (1, 0)]  # all but (D, D)
    assert gt.social_optima(PD) == [(0, 0)]
    assert gt.best_responses(PD, 0, [0]) == [1] and gt.best_responses(PD, 1, [1]) == [1]
    assert gt.mixed_equilibrium_2x2(PD) is None  # a dominant strategy: nothing to mix


def test_matching_pennies_has_only_the_half_half_equilibrium():
    assert gt.pure_nash_equilibria(PENNIES) == []
    assert gt.mixed_equilibrium_2x2(PENNIES) == pytest.approx((0.5, 0.5))
    np.testing.assert_allclose(gt.expected_payoffs(PENNIES, [[0.5, 0.5], [0.5, 0.5]]), [0, 0])


def test_coordination_stag_hunt_and_chicken():
    assert gt.pure_nash_equilibria(COORD) == [(0, 0), (1, 1)]
    assert gt.pareto_optimal(COORD) == [(0, 0)]
    # Coordination: each mixes so the other is indifferent, 2q = 1 - q.
    assert gt.mixed_equilibrium_2x2(COORD) == pytest.approx((1 / 3, 1 / 3))
    assert gt.pure_nash_equilibria(STAG) == [(0, 0), (1, 1)]
    assert gt.mixed_equilibrium_2x2(STAG) == pytest.approx((2 / 3, 2 / 3))  # 4p = 3p + 2(1-p)
    assert gt.pure_nash_equilibria(CHICKEN) == [(0, 1), (1, 0)]
    assert gt.mixed_equilibrium_2x2(CHICKEN) == pytest.approx((0.9, 0.9))  # p - 1 = 11p - 10


def test_mixed_equilibrium_makes_the_opponent_indifferent():
    for game in (PENNIES, COORD, STAG, CHICKEN):
        row, col = gt.mixed_equilibrium_2x2(game)
        assert sorted(gt.best_response_to_mixed(game, 0, [None, [col, 1 - col]])) == [0, 1]
        assert sorted(gt.best_response_to_mixed(game, 1, [[row, 1 - row], None])) == [0, 1]


def test_three_player_games():
    # Everyone is paid 1 when all three pick the same action, else 0.
    same = np.zeros((2, 2, 2, 3))
    same[0, 0, 0], same[1, 1, 1] = 1, 1
    assert gt.pure_nash_equilibria(same) == [(0, 0, 0), (1, 1, 1)]
    assert gt.social_optima(same) == [(0, 0, 0), (1, 1, 1)]
    # Three-player prisoners' dilemma: defecting adds 2 to oneself, costs others 1 each
    # against cooperation's baseline; all-defect is the unique equilibrium, all-cooperate
    # the social optimum.
    pd3 = np.zeros((2, 2, 2, 3))
    for profile in gt.profiles(pd3):
        for i in range(3):
            others = sum(profile) - profile[i]
            pd3[profile][i] = 3 + 2 * profile[i] - 2 * others
    assert gt.pure_nash_equilibria(pd3) == [(1, 1, 1)]
    assert gt.social_optima(pd3) == [(0, 0, 0)]
    assert (1, 1, 1) not in gt.pareto_optimal(pd3)


def test_bad_payoff_shapes_are_explained():
    with pytest.raises(ValueError, match=r"\[n_1, ..., n_N, N\]"):
        gt.check_payoffs(np.zeros((2, 2)))
    with pytest.raises(envs.ConfigError, match="payoffs"):
        envs.make_batched("matrix_game", 1, {"game": "custom", "payoffs": [[1, 2], [3, 4]]})
    with pytest.raises(envs.ConfigError, match="use game: custom"):
        envs.make_batched("matrix_game", 1, {"payoffs": [[[1, 1]]]})


def test_rewards_observations_and_infos_follow_the_joint_action():
    core = envs.make_batched("matrix_game", 2, {"game": "prisoners_dilemma", "num_rounds": 3})
    obs, _ = core.reset(seed=0)
    assert obs[:, :, :4].sum() == 0 and np.all(obs[:, :, 4] == 1)  # first round: no history
    out = core.step(np.array([[0, 1], [1, 1]]))  # copy 0: C vs D; copy 1: D vs D
    np.testing.assert_array_equal(out.rewards, [[0, 5], [1, 1]])
    # Own action first: player 0 of copy 0 sees (C, D), player 1 sees (D, C).
    np.testing.assert_array_equal(out.observations[0, 0, :4], [1, 0, 0, 1])
    np.testing.assert_array_equal(out.observations[0, 1, :4], [0, 1, 1, 0])
    np.testing.assert_array_equal(out.infos["nash"], [False, True])
    np.testing.assert_array_equal(out.infos["pareto"], [True, False])
    np.testing.assert_array_equal(out.infos["welfare"], [5, 2])
    core.step(np.zeros((2, 2), dtype=int))
    last = core.step(np.zeros((2, 2), dtype=int))
    assert last.done.all() and last.terminated.all()
    np.testing.assert_array_equal(last.infos["social_optimum"], [True, True])


def test_players_with_different_action_counts_are_checked_one_by_one():
    payoffs = np.zeros((2, 3, 2))
    core = envs.make_batched("matrix_game", 1, {"game": "custom", "payoffs": payoffs.tolist()})
    core.reset(seed=0)
    core.step(np.array([[1, 2]]))  # player_1 has 3 actions
    with pytest.raises(envs.EnvActionError, match="player_0.*allowed: 0..1"):
        core.step(np.array([[2, 0]]))
