"""Vehicles: footprint overlap against a literal polygon test, no pass-through in the
platoon, scripted drivers that never collide at default density, agents joining and
leaving, the scenario's infos."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.core import EnvActionError
from envs.schema import ConfigError
from envs.vehicle_geometry import rectangle_corners, rectangles_overlap
from envs.vehicles import (
    NEIGHBOUR_FEATURES,
    OWN_FEATURES,
    RIGHT_OF_WAY_FEATURES,
    idm_acceleration,
    yield_at_line,
)


def _segments_cross(p1, p2, q1, q2) -> bool:
    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    return orient(p1, p2, q1) != orient(p1, p2, q2) and orient(q1, q2, p1) != orient(q1, q2, p2)


def _inside(point, corners) -> bool:
    def cross(u, v):
        return u[0] * v[1] - u[1] * v[0]

    signs = [
        np.sign(cross(corners[(k + 1) % 4] - corners[k], point - corners[k])) for k in range(4)
    ]
    return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)


def _literal_overlap(a, b) -> bool:
    """Two convex quadrilaterals overlap iff two edges cross or one holds a corner of the
    other."""
    edges = lambda c: [(c[k], c[(k + 1) % 4]) for k in range(4)]  # noqa: E731
    if any(_segments_cross(*e, *f) for e in edges(a) for f in edges(b)):
        return True
    return _inside(a[0], b) or _inside(b[0], a)


def test_rectangle_overlap_matches_a_literal_polygon_test():
    rng = np.random.default_rng(0)
    agree = hits = 0
    for _ in range(400):
        x, y = rng.uniform(-5, 5, 2), rng.uniform(-5, 5, 2)
        h = rng.uniform(-np.pi, np.pi, 2)
        corners = rectangle_corners(x, y, h, 4.5, 1.8)
        fast = bool(rectangles_overlap(corners[0], corners[1]))
        assert fast == _literal_overlap(corners[0], corners[1])
        agree += 1
        hits += fast
    assert agree == 400 and 40 < hits < 360  # both outcomes exercised


def test_hand_made_footprints():
    c = lambda x, y, h: rectangle_corners(np.array(x), np.array(y), np.array(h), 4.5, 1.8)  # noqa: E731
    assert rectangles_overlap(c(0.0, 0.0, 0.0), c(4.4, 0.0, 0.0))  # bumpers overlap
    assert not rectangles_overlap(c(0.0, 0.0, 0.0), c(4.6, 0.0, 0.0))
    assert not rectangles_overlap(c(0.0, 0.0, 0.0), c(0.0, 1.9, 0.0))  # side by side
    assert rectangles_overlap(c(0.0, 0.0, 0.0), c(0.0, 0.0, np.pi / 2))  # crossing
    assert not rectangles_overlap(c(0.0, 0.0, 0.0), c(3.8, 2.8, np.pi / 4))


def test_platoon_follower_cannot_pass_through_the_vehicle_ahead():
    core = envs.make_batched("vehicles", 1, {"scenario": "platoon", "num_followers": 3})
    core.reset(seed=0)
    throttle = np.zeros((1, 3, 1), dtype=np.float32)
    throttle[0, 2] = 3.0  # the last follower floors it into the one ahead
    order = np.argsort(-core.s[0])
    for _ in range(400):
        out = core.step(throttle)
        present = core.present[0]
        s = core.s[0][present]
        assert np.all(np.diff(s[np.argsort(-s)]) < 0)
        assert list(np.argsort(-core.s[0])[: present.sum()]) == [i for i in order if present[i]]
        if out.infos["collisions"][0]:
            assert out.terminated[0, 1] and out.terminated[0, 2] and not out.terminated[0, 0]
            gap = core.s[0, 1] - core.s[0, 2]
            assert 0 < gap < core.config.vehicle_length  # overlapping, never swapped
            break
    else:
        pytest.fail("the throttled follower never reached the vehicle ahead")


def test_idm_never_collides_in_the_platoon_at_default_density():
    core = envs.make_batched("vehicles", 32, {"scenario": "platoon"})
    core.reset(seed=1)
    collisions, steps_done = 0, 0
    for _ in range(core.config.max_steps * 2):
        out = core.step(core.baseline_actions("idm"))
        collisions += int(out.infos["collisions"].sum())
        steps_done += 1
    assert collisions == 0 and steps_done == 1200


def test_fcfs_never_collides_and_idm_alone_does_at_the_intersection():
    """...and FCFS never shares the box with conflicting traffic (the near-miss penalty)."""
    totals = {}
    for kind in ("fcfs", "idm"):
        core = envs.make_batched("vehicles", 32, {"conflict_weight": 1.0})
        core.reset(seed=2)
        collisions = exited = 0
        shared = 0
        for _ in range(1200):
            shared += int(core.box_conflicts(core.present).sum())
            out = core.step(core.baseline_actions(kind))
            collisions += int(out.infos["collisions"].sum())
            exited += int(out.infos["exited"].sum())
        totals[kind] = (collisions, exited, shared)
    assert totals["fcfs"][0] == 0 and totals["fcfs"][1] > 500 and totals["fcfs"][2] == 0
    assert totals["idm"][0] > 0 and totals["idm"][2] > 0  # what the reservation is for


def test_conflict_penalty_is_charged_to_both_vehicles_in_the_box():
    base = envs.make_batched("vehicles", 8, {})
    shaped = envs.make_batched("vehicles", 8, {"conflict_weight": 0.5})
    base.reset(seed=4)
    shaped.reset(seed=4)
    charged = 0
    for _ in range(400):
        actions = base.baseline_actions("idm")
        acting = shaped.present & ~shaped.leaving
        a, b = base.step(actions), shaped.step(actions)
        expected = 0.5 * shaped.box_conflicts(acting)  # where the vehicles moved to
        going = ~b.done  # finished copies were reset: their scene is a new episode's
        np.testing.assert_allclose((a.rewards - b.rewards)[going], expected[going], atol=1e-5)
        assert np.all(expected.sum(1) % 1 == 0)  # each shared box is charged to both
        charged += int((expected > 0).sum())
    assert charged > 0


def test_vehicles_join_and_leave_with_unique_ids():
    env = envs.make_parallel("vehicles", {"arrival_rate": 0.3, "max_seconds": 30})
    obs, _ = env.reset(seed=3)
    seen, left = set(obs), set()
    while env.agents:
        obs, _, term, trunc, _ = env.step({a: np.ones(1, np.float32) for a in env.agents})
        left |= {a for a in term if term[a] or trunc[a]}
        assert not (set(env.agents) & left)  # an id never comes back
        seen |= set(obs)
    assert len(seen) > 8 and len(left) == len(seen)
    numbers = sorted(int(a.split("_")[1]) for a in seen)
    assert numbers == list(range(len(numbers)))  # ids in order of entry


def test_neighbour_features_tell_arrival_order_and_conflicts():
    config = {"initial_vehicles": 4, "k_nearest": 3, "sensing_radius": 200.0}
    core = envs.make_batched("vehicles", 1, config)
    obs, _ = core.reset(seed=5)
    near = obs[0, :4, OWN_FEATURES:].reshape(4, 3, -1)
    for i in range(4):
        others = [j for j in range(4) if j != i]
        seen = near[i, near[i, :, -1] == 1]
        assert len(seen) == 3  # all within sensing range
        # vehicle_0 entered first: it sees nobody earlier; vehicle_3 sees all three earlier
        assert seen[:, 8].sum() == sum(core.vid[0, j] < core.vid[0, i] for j in others)
        conflicts = [core.conflicts[core.route[0, i], core.route[0, j]] for j in others]
        assert sorted(seen[:, 7]) == sorted(float(c) for c in conflicts)


def test_right_of_way_observation_alone_drives_without_collisions():
    """A driver that reads only its own observation (IDM on the gap features, FCFS's stop at
    the line while the right-of-way bit is 0) never collides: the signal carries FCFS's rule."""
    core = envs.make_batched("vehicles", 16, {"right_of_way": True})
    c = core.config
    clear_bit, yield_count = OWN_FEATURES, OWN_FEATURES + 1
    obs, _ = core.reset(seed=6)
    assert obs.shape[-1] == OWN_FEATURES + RIGHT_OF_WAY_FEATURES + NEIGHBOUR_FEATURES * c.k_nearest
    collisions = exited = 0
    for _ in range(1200):
        v = obs[..., 1] * c.v_max
        gap = np.where(obs[..., 5] < 1, obs[..., 5] * c.sensing_radius, np.inf)
        accel = idm_acceleration(v, gap, v - obs[..., 6] * c.v_max, c.target_speed)
        clear = obs[..., clear_bit] == 1
        box_gap = obs[..., 3] * c.approach_length
        accel = np.clip(yield_at_line(accel, v, box_gap, clear, c.target_speed), -3, 3)
        nobody = obs[..., yield_count] == 0
        assert np.all((clear == nobody)[core.present])  # empty slots are all zeros
        out = core.step(accel[..., None].astype(np.float32))
        obs = out.observations
        collisions += int(out.infos["collisions"].sum())
        exited += int(out.infos["exited"].sum())
    assert collisions == 0 and exited > 250


def test_infos_and_discrete_actions():
    core = envs.make_batched("vehicles", 4, {"action_bins": 5})
    core.reset(seed=0)
    for _ in range(300):
        out = core.step(core.baseline_actions("fcfs"))
    assert out.infos["throughput_per_min"].min() > 0
    assert np.all(out.infos["collisions_per_100_vehicles"] == 0)
    assert core.baseline_actions("fcfs").dtype.kind == "i"


def test_bad_config_and_render():
    with pytest.raises(ConfigError, match="turn_probabilities must be 3 probabilities"):
        envs.make_batched("vehicles", 1, {"turn_probabilities": [0.5, 0.5]})
    with pytest.raises(ConfigError, match="allowed: intersection, platoon|scenario"):
        envs.make_batched("vehicles", 1, {"scenario": "roundabout"})
    with pytest.raises(ConfigError, match="right_of_way is for scenario: intersection"):
        envs.make_batched("vehicles", 1, {"scenario": "platoon", "right_of_way": True})
    core = envs.make_batched("vehicles", 1, {}, render_mode="rgb_array")
    core.reset(seed=0)
    frame = core.render(0)
    assert frame.shape == (320, 320, 3) and len(np.unique(frame.reshape(-1, 3), axis=0)) >= 5


def _traffic_seen(policy, seed: int) -> tuple[np.ndarray, dict]:
    """Arrivals per step, and per approach the (arrival step, route) of each vehicle in the
    order it entered, for `policy` over one fixed-horizon episode of 4 copies."""
    config = {"max_vehicles": 12, "action_bins": 7, "max_seconds": 30, "fixed_horizon": True}
    core = envs.make_batched("vehicles", 4, config)
    core.autoreset = False
    core.reset(seed=seed)
    rng = np.random.default_rng(0)
    arrivals, entered, seen = [], {}, set()
    for _ in range(core.config.max_steps):
        out = core.step(policy(core, rng))
        arrivals.append(out.infos["arrivals"])
        for e, k in zip(*np.nonzero(core.present), strict=True):
            if (e, core.vid[e, k]) not in seen:
                seen.add((e, core.vid[e, k]))
                approach = int(core.route[e, k]) // 3
                entry = (int(core.arrived[e, k]), int(core.route[e, k]))
                entered.setdefault((int(e), approach), []).append(entry)
    assert out.done.all() and (core.steps == core.config.max_steps).all()
    return np.array(arrivals), entered


def test_exogenous_traffic_does_not_depend_on_the_policy():
    """FCFS and random accelerations, same seed: the same arrivals on the same steps, and the
    j-th vehicle of an approach has the same arrival step and route under both (one policy
    may admit fewer of them in the time: a prefix)."""
    fcfs_arrivals, fcfs = _traffic_seen(lambda core, rng: core.baseline_actions("fcfs"), 7)
    random_arrivals, randomly = _traffic_seen(lambda core, rng: core.sample_actions(rng), 7)
    np.testing.assert_array_equal(fcfs_arrivals, random_arrivals)
    assert fcfs_arrivals.sum() > 20
    compared = 0
    for key in fcfs.keys() | randomly.keys():
        a, b = fcfs.get(key, []), randomly.get(key, [])
        n = min(len(a), len(b))
        assert a[:n] == b[:n], key
        compared += n
    assert compared > 20
    other_arrivals, _ = _traffic_seen(lambda core, rng: core.baseline_actions("fcfs"), 8)
    assert not np.array_equal(fcfs_arrivals, other_arrivals)


def test_fixed_horizon_is_refused_by_the_per_agent_views():
    with pytest.raises(EnvActionError, match="fixed_horizon"):
        envs.make_rllib("vehicles", {"fixed_horizon": True})
    with pytest.raises(ConfigError, match="fixed_horizon is for scenario: intersection"):
        envs.make_batched("vehicles", 1, {"scenario": "platoon", "fixed_horizon": True})
