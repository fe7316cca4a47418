"""Board games: rules on hand-made positions, encodings, symmetries, the AEC adapter."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import api_test

import envs
from envs import board_games
from envs.board_games import IllegalMoveError, make_aec, make_game
from envs.schema import ConfigError

TTT = make_game("tictactoe")
C4 = make_game("connect4")


@pytest.mark.parametrize(
    "moves, outcome, legal",
    [
        ("", None, list(range(9))),
        ("4 0 8", None, [1, 2, 3, 5, 6, 7]),
        ("0 3 1 4 2", -1.0, []),  # X: top row
        ("0 1 4 2 8", -1.0, []),  # X: diagonal
        ("0 1 3 4 2 7", -1.0, []),  # O: middle column
        ("0 4 8 1 7 6 2 5 3", 0.0, []),  # full board, no line
    ],
)
def test_tictactoe_outcomes_and_legal_moves(moves, outcome, legal):
    state = TTT.play(moves)
    assert TTT.outcome(state) == outcome
    assert TTT.legal_actions(state) == legal


@pytest.mark.parametrize(
    "moves, outcome",
    [
        ("0 1 0 1 0 1 0", -1.0),  # vertical
        ("0 0 1 1 2 2 3", -1.0),  # horizontal
        ("0 1 1 2 2 3 2 3 3 6 3", -1.0),  # diagonal /
        ("6 5 5 4 4 3 4 3 3 0 3", -1.0),  # diagonal \
        ("0 1 0 1 0 1", None),
        ("0 6 1 5 2", None),  # three in a row, split by nothing yet
    ],
)
def test_connect_four_outcomes(moves, outcome):
    assert C4.outcome(C4.play(moves)) == outcome


def test_connect_four_full_column_and_wrapping():
    state = C4.play("3 3 3 3 3 3")
    assert 3 not in C4.legal_actions(state)
    with pytest.raises(IllegalMoveError, match="not legal"):
        C4.apply(state, 3)
    # X's three stones atop column 0 and one at the bottom of column 1 are not a line
    wrap = C4.play("1 0 6 0 6 0 0 5 0 5 0")
    assert C4.outcome(wrap) is None and C4.board(wrap)[0, 0] == 1


def test_draw_on_a_full_connect_four_board():
    game = make_game("connect4", {"rows": 4, "columns": 4})
    moves = "3 2 2 2 2 3 0 3 3 0 0 1 1 0 1 1"  # fills 4x4 without four in a row
    state = game.play(moves)
    assert state.moves == 16 and game.outcome(state) == 0.0


def test_illegal_moves_and_moves_after_the_end_are_refused():
    with pytest.raises(IllegalMoveError, match=r"legal actions: \[1, 2"):
        TTT.apply(TTT.play("0"), 0)
    with pytest.raises(IllegalMoveError):
        TTT.apply(TTT.initial_state(), 9)
    with pytest.raises(IllegalMoveError, match="after the game ended"):
        TTT.play("0 3 1 4 2 5")


def test_encoding_is_from_the_movers_point_of_view():
    state = TTT.play("4 0")  # X centre, O corner; X to move
    planes = TTT.encode(state)
    assert planes.shape == (3, 3, 3)
    assert planes[0, 1, 1] == 1 and planes[1, 0, 0] == 1 and planes[2].min() == 1
    after = TTT.apply(state, 8)  # O to move: its corner stone comes first
    assert TTT.encode(after)[0, 0, 0] == 1 and TTT.encode(after)[2].max() == 0
    c4 = C4.encode(C4.play("3"))
    assert c4[1, 5, 3] == 1 and c4[1].sum() == 1  # bottom row is the last row


def test_symmetries_map_positions_and_policies_together():
    state = TTT.play("0 4 5")
    planes = TTT.encode(state)
    policy = TTT.legal_mask(state).astype(np.float32)
    copies = TTT.symmetries(planes, policy)
    assert len(copies) == 8 and np.array_equal(copies[0][0], planes)
    for p, pi in copies:  # legal moves stay exactly the empty cells
        empty = (p[0] + p[1]).reshape(-1) == 0
        assert np.array_equal(empty, pi > 0)
    assert len({p.tobytes() for p, _ in copies}) == 8  # no symmetry of this position
    c4 = C4.play("0 1")
    mirrored, pi = C4.symmetries(C4.encode(c4), np.arange(7.0))[1]
    assert mirrored[0, 5, 5] == 0 and mirrored[1, 5, 5] == 1 and mirrored[0, 5, 6] == 1
    assert pi.tolist() == list(np.arange(7.0)[::-1])


@pytest.mark.parametrize("name", board_games.names())
def test_aec_adapter_passes_the_pettingzoo_api_test(name):
    api_test(make_aec(name), num_cycles=30)


def test_aec_rewards_the_winner_and_masks_the_waiting_player():
    env = make_aec("tictactoe", render_mode="rgb_array")
    env.reset()
    assert env.observe("player_1")["action_mask"].sum() == 0
    for action in (0, 3, 1, 4, 2):
        env.step(action)
    assert env.terminations["player_0"] and env.rewards == {"player_0": 1.0, "player_1": -1.0}
    assert env.render().shape == (96, 96, 3)
    with pytest.raises(ValueError, match="render_mode"):
        make_aec("tictactoe", render_mode="human")


def test_board_games_are_experiment_envs_with_checked_config():
    assert envs.make_config("connect4", {"rows": 5}).rows == 5
    with pytest.raises(ConfigError, match="allowed keys in env.config: rows, columns, connect"):
        envs.make_config("connect4", {"width": 5})
    with pytest.raises(ConfigError, match="board games for ALPHAZERO: connect4, tictactoe"):
        envs.make_config("chess")
