"""MCTS and its formulas: PUCT/UCB1/visit distribution against literal versions, tactics with
a uniform prior, root-only noise, visit accounting, tree reuse, batching; the minimax solver."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs.board_games import make_game
from envs.schema import ConfigError
from marl_ray.algorithms.alphazero.evaluators import RolloutEvaluator, UniformEvaluator
from marl_ray.algorithms.alphazero.mcts import MCTS, SearchConfig
from marl_ray.algorithms.alphazero.minimax import Solver
from marl_ray.algorithms.alphazero.players import (
    MinimaxPlayer,
    RandomPlayer,
    make_opponent,
    play_match,
)
from marl_ray.algorithms.core.puct import (
    mean_values,
    puct_scores,
    ucb1_scores,
    visit_distribution,
)

TTT = make_game("tictactoe")
C4 = make_game("connect4")


@pytest.mark.parametrize("k", [1, 3, 9])
def test_puct_and_ucb1_match_their_formulas(k):
    rng = np.random.default_rng(k)
    visits = rng.integers(0, 5, k).astype(float)
    values = rng.uniform(-1, 1, k) * visits
    prior = rng.dirichlet(np.ones(k))
    parent = 1 + visits.sum()
    q = mean_values(values, visits)
    scores = puct_scores(q, prior, visits, parent, 1.7)
    ucb = ucb1_scores(q, visits, parent, 1.4)
    for a in range(k):
        q_a = values[a] / visits[a] if visits[a] > 0 else 0.0
        assert q[a] == pytest.approx(q_a)
        assert scores[a] == pytest.approx(
            q_a + 1.7 * prior[a] * math.sqrt(parent) / (1 + visits[a])
        )
        if visits[a] == 0:
            assert ucb[a] == math.inf
        else:
            assert ucb[a] == pytest.approx(q_a + 1.4 * math.sqrt(math.log(parent) / visits[a]))


@pytest.mark.parametrize("temperature", [0.0, 0.5, 1.0, 2.0])
def test_visit_distribution_matches_its_formula(temperature):
    visits = np.array([3.0, 0.0, 7.0, 7.0, 1.0])
    pi = visit_distribution(visits, temperature)
    if temperature == 0:
        expected = [0, 0, 0.5, 0.5, 0]
    else:
        powered = [v ** (1 / temperature) for v in visits]
        expected = [p / sum(powered) for p in powered]
    assert pi == pytest.approx(expected)


def _search(game, moves, simulations, evaluator=None, seed=0, **config):
    mcts = MCTS(
        game, SearchConfig(num_simulations=simulations, **config), np.random.default_rng(seed)
    )
    root = mcts.new_root(game.play(moves))
    mcts.search([root], evaluator or UniformEvaluator(game))
    return mcts, root


@pytest.mark.parametrize("leaf_batch", [1, 8])
@pytest.mark.parametrize(
    "game, moves, best",
    [
        (TTT, "0 3 1 4", 2),  # X wins at 2 (O threatens 5)
        (TTT, "0 4 1", 2),  # O must block at 2
        (TTT, "4 0 8 2", 1),  # O threatens 1 (0-1-2): X must block
        (C4, "0 6 0 6 0", 0),  # O must block column 0
        (C4, "0 6 1 6 2 5", 3),  # X completes the bottom row
    ],
)
def test_search_with_a_uniform_prior_wins_in_one_and_blocks_a_loss_in_one(
    game, moves, best, leaf_batch
):
    mcts, root = _search(game, moves, 300, leaf_batch=leaf_batch)
    policy = mcts.visit_policy(root, 1.0)
    assert int(np.argmax(policy)) == best, policy.round(2)


def test_visit_counts_sum_to_the_simulations_and_reuse_keeps_the_subtree():
    mcts, root = _search(TTT, "", 77, leaf_batch=8)
    assert root.visits.sum() == pytest.approx(77)
    assert mcts.visit_policy(root, 1.0).sum() == pytest.approx(1.0)
    action = mcts.choose(root, 0.0)
    child_visits = root.visits[list(root.actions).index(action)]
    subtree = mcts.advance(root, action)
    assert subtree.visits.sum() == pytest.approx(child_visits - 1)  # one visit expanded it
    mcts.search([subtree], UniformEvaluator(TTT))
    assert subtree.visits.sum() == pytest.approx(child_visits - 1 + 77)
    # virtual losses are all undone: every edge's Q stays a mean of values in [-1, 1]
    for node in _nodes(root):
        assert np.all(np.abs(node.values) <= node.visits + 1e-9)


def _nodes(root):
    stack, out = [root], []
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(c for c in node.children if c is not None)
    return out


def test_dirichlet_noise_changes_only_the_root_prior():
    mcts = MCTS(
        TTT, SearchConfig(num_simulations=200, dirichlet_alpha=0.3), np.random.default_rng(3)
    )
    root = mcts.new_root(TTT.initial_state())
    mcts.search([root], UniformEvaluator(TTT), noise=True)
    assert root.root_prior is not None
    assert root.root_prior.sum() == pytest.approx(1.0)
    assert not np.allclose(root.root_prior, root.prior)
    assert np.allclose(root.prior, 1 / 9)  # the clean prior is kept
    inner = [n for n in _nodes(root) if n is not root and n.expanded]
    assert inner and all(n.root_prior is None for n in inner)
    assert all(np.allclose(n.prior, 1 / len(n.actions)) for n in inner)
    reused = mcts.advance(root, 4)
    assert reused.root_prior is None  # noised afresh only when searched as a root


def test_batched_search_sends_batches_and_searches_several_roots_at_once():
    calls = []

    class Counting(UniformEvaluator):
        def __call__(self, states):
            calls.append(len(states))
            return super().__call__(states)

    mcts = MCTS(TTT, SearchConfig(num_simulations=40, leaf_batch=8), np.random.default_rng(0))
    roots = [mcts.new_root(TTT.play(m)) for m in ("", "4", "0 4")]
    mcts.search(roots, Counting(TTT))
    assert max(calls) > 8  # leaves of several trees in one call
    assert all(r.visits.sum() == pytest.approx(40) for r in roots)
    assert sum(calls) < 3 * 41  # terminal leaves are never sent


def test_terminal_root_is_left_alone():
    mcts, root = _search(TTT, "0 3 1 4 2", 10)
    assert root.terminal_value == -1.0 and root.visits.sum() == 0


def test_solver_values_and_best_moves():
    solver = Solver(TTT)
    assert solver.value(TTT.initial_state()) == 0
    assert solver.best_actions(TTT.play("0 3 1 4")) == [2]
    assert solver.value(TTT.play("0 4 8")) == 0  # O draws by taking an edge
    assert set(solver.best_actions(TTT.play("0 4 8"))) == {1, 3, 5, 7}
    assert solver.value(TTT.play("0 1")) == 1  # X wins after an edge reply to a corner


def test_baseline_players_have_the_expected_strength():
    rng = np.random.default_rng(0)
    assert play_match(TTT, MinimaxPlayer(TTT, rng), RandomPlayer(TTT, rng), 40).losses == 0
    pure = make_opponent("mcts:200", TTT, rng)
    result = play_match(TTT, pure, RandomPlayer(TTT, rng), 20)
    assert result.losses == 0 and result.wins >= 15
    with pytest.raises(ConfigError, match="use random, minimax"):
        make_opponent("mcts:x", TTT, rng)
    with pytest.raises(ConfigError, match="tic-tac-toe only"):
        make_opponent("minimax", C4, rng)


def _random_playout_value(game, state):
    """Exact expected result of a uniformly random playout, for the player to move."""
    outcome = game.outcome(state)
    if outcome is not None:
        return outcome
    return float(
        np.mean(
            [-_random_playout_value(game, game.apply(state, a)) for a in game.legal_actions(state)]
        )
    )


@pytest.mark.parametrize("moves", ["0 3 1 4", "0 4 8", "4"])
def test_rollout_values_average_to_the_random_playout_value_for_the_mover(moves):
    state = TTT.play(moves)
    _, values = RolloutEvaluator(TTT, np.random.default_rng(0))([state] * 3000)
    assert values.mean() == pytest.approx(_random_playout_value(TTT, state), abs=0.06)
    assert RolloutEvaluator(TTT, np.random.default_rng(0)).rollout(TTT.play("0 3 1 4 2")) == -1.0
