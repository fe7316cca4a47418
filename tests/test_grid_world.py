"""Grid world rules, checked on hand-placed positions."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.grid_world import resolve_blocking
from envs.schema import ConfigError

UP, DOWN, LEFT, RIGHT, STAY = range(5)


def place(config, agents, targets):
    core = envs.make_batched("grid_world", 1, config)
    core.reset(seed=0)
    core.place(0, agents, targets)
    core.autoreset = False
    return core


def test_cooperative_first_arrival_reward_then_team_bonus_ends_episode():
    core = place({}, agents=[[0, 0], [2, 2]], targets=[[0, 1]])
    out = core.step(np.array([[RIGHT, STAY]]))
    np.testing.assert_allclose(out.rewards[0], [1.0 - 0.01, -0.01])
    assert not out.done[0]
    out = core.step(np.array([[STAY, STAY]]))  # no second arrival reward for agent 0
    np.testing.assert_allclose(out.rewards[0], [-0.01, -0.01])
    core.place(0, [[0, 1], [1, 1]], [[0, 1]])
    out = core.step(np.array([[STAY, UP]]))
    np.testing.assert_allclose(out.rewards[0], [10 - 0.01, 1 + 10 - 0.01])
    assert out.done[0] and out.terminated[0].all() and not out.truncated[0].any()
    assert out.infos["success"][0] and out.infos["episode_steps"][0] == 3


def test_competitive_first_to_own_target_wins_and_others_lose():
    config = {"mode": "competitive", "num_agents": 3}
    core = place(config, agents=[[0, 0], [4, 4], [2, 2]], targets=[[0, 1], [4, 3], [0, 4]])
    out = core.step(np.array([[RIGHT, STAY, STAY]]))
    np.testing.assert_allclose(out.rewards[0], [10 - 0.01, -5 - 0.01, -5 - 0.01])
    assert out.done[0] and out.infos["winner"][0] == 0 and out.infos["success"][0]


def test_competitive_simultaneous_arrivals_all_win():
    config = {"mode": "competitive", "num_agents": 2}
    core = place(config, agents=[[0, 0], [4, 4]], targets=[[0, 1], [4, 3]])
    out = core.step(np.array([[RIGHT, LEFT]]))
    np.testing.assert_allclose(out.rewards[0], [9.99, 9.99])
    # A draw: nobody is the winner, and the win is split, not credited to agent_0.
    assert out.infos["winner"][0] == -1 and out.infos["draw"][0]
    np.testing.assert_allclose(out.infos["win_share"][0], [0.5, 0.5])


def test_competitive_sole_arrival_takes_the_whole_win():
    config = {"mode": "competitive", "num_agents": 3}
    core = place(config, agents=[[0, 0], [4, 4], [2, 2]], targets=[[0, 1], [4, 3], [2, 3]])
    out = core.step(np.array([[STAY, LEFT, RIGHT]]))  # agents 1 and 2 arrive together
    assert out.infos["winner"][0] == -1 and out.infos["draw"][0]
    np.testing.assert_allclose(out.infos["win_share"][0], [0.0, 0.5, 0.5])
    core = place(config, agents=[[0, 0], [4, 4], [2, 2]], targets=[[0, 1], [4, 3], [2, 3]])
    out = core.step(np.array([[STAY, STAY, RIGHT]]))
    assert out.infos["winner"][0] == 2 and not out.infos["draw"][0]
    np.testing.assert_allclose(out.infos["win_share"][0], [0.0, 0.0, 1.0])


def test_shortest_path_player_reaches_its_target_in_manhattan_distance():
    core = place({"mode": "competitive", "num_agents": 2}, [[0, 0], [4, 4]], [[3, 2], [4, 1]])
    for _ in range(3):  # agent 1 arrives after 3 moves; agent 0 needs 5
        out = core.step(core.baseline_actions())
    assert out.done[0] and out.infos["winner"][0] == 1
    with pytest.raises(ConfigError, match="allowed: shortest_path"):
        core.baseline_actions("random")


def test_agent_order_does_not_matter():
    """Swapping two agents' indices swaps their outcomes and nothing else."""
    config = {"num_agents": 3, "num_targets": 3, "collisions": "block"}
    agents, targets = [[0, 0], [0, 2], [3, 3]], [[0, 1], [4, 4], [2, 2]]
    actions = np.array([[RIGHT, LEFT, UP]])
    a = place(config, agents, targets).step(actions)
    perm = [1, 0, 2]
    b = place(config, [agents[i] for i in perm], targets).step(actions[:, perm])
    np.testing.assert_allclose(a.rewards[0][perm], b.rewards[0])


def test_blocking_cancels_shared_cells_swaps_and_chains():
    current = np.array([[0, 2, 6, 18, 19]])
    proposed = np.array([[1, 1, 6, 19, 18]])
    resolved = resolve_blocking(current, proposed)
    np.testing.assert_array_equal(resolved, current)  # contest for cell 1; 18<->19 swap
    # A chain: agent 0 moves into agent 1's cell while agent 1 is blocked from moving on.
    current, proposed = np.array([[0, 1, 3]]), np.array([[1, 2, 2]])
    np.testing.assert_array_equal(resolve_blocking(current, proposed), current)
    # Following a mover is allowed, and so is a rotation of three.
    current, proposed = np.array([[0, 1]]), np.array([[1, 2]])
    np.testing.assert_array_equal(resolve_blocking(current, proposed), proposed)
    current, proposed = np.array([[0, 1, 6, 5]]), np.array([[1, 6, 5, 0]])
    np.testing.assert_array_equal(resolve_blocking(current, proposed), proposed)


def test_blocked_agents_never_share_a_cell():
    config = {"num_agents": 4, "num_targets": 4, "collisions": "block", "grid_size": 3}
    core = envs.make_batched("grid_world", 256, config)
    core.reset(seed=4)
    rng = np.random.default_rng(1)
    for _ in range(100):
        core.step(rng.integers(0, 5, size=(256, 4)))
        assert all(len(set(row)) == 4 for row in core.cells.tolist())


def test_moves_off_the_grid_stay_in_place():
    core = place({}, agents=[[0, 0], [4, 4]], targets=[[2, 2]])
    core.step(np.array([[UP, DOWN]]))
    np.testing.assert_array_equal(core.positions[0], [[0, 0], [4, 4]])


def test_truncation_after_max_steps_keeps_final_observation():
    core = place({"max_steps": 3}, agents=[[0, 0], [4, 4]], targets=[[2, 2]])
    core.autoreset = True
    for _ in range(3):
        out = core.step(np.array([[STAY, STAY]]))
    assert out.done[0] and out.truncated[0].all() and not out.terminated[0].any()
    assert out.final_observations[0, 0, -1] == pytest.approx(1.0)  # elapsed fraction
    assert out.observations[0, 0, -1] == 0.0  # a fresh episode already began


def test_starts_never_overlap_targets_or_each_other():
    core = envs.make_batched("grid_world", 500, {"num_agents": 4, "num_targets": 2})
    core.reset(seed=1)
    flat = np.concatenate([core.cells, core.target_cells], axis=1)
    assert all(len(set(row)) == row.size for row in flat)


@pytest.mark.parametrize(
    "config,match",
    [
        ({"grid_size": 1}, "grid_size must be >= 2"),
        ({"mode": "competitive", "num_targets": 1}, "one target per agent"),
        ({"collisions": "block"}, "num_targets must be >= num_agents"),
        ({"grid_size": 2, "num_agents": 4}, "do not fit"),
        ({"num_agents": "two"}, "expected an integer"),
    ],
)
def test_bad_configs_say_what_is_wrong(config, match):
    with pytest.raises(envs.ConfigError, match=match):
        envs.make_batched("grid_world", 1, config)
