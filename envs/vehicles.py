"""Autonomous vehicles: an unsignalised 4-way intersection whose vehicles join and leave, or a
platoon behind a scripted leader.

Kinematics (both scenarios): every `dt` (0.1 s) each agent picks an acceleration in
[-accel_max, accel_max] (continuous, or `action_bins` evenly spaced values); speed
v <- clip(v + a dt, 0, v_max), then the centre advances along the vehicle's lane path by
v dt. Footprints are `vehicle_length` x `vehicle_width` rectangles along the path; two that
overlap collide, and both vehicles leave with `collision_penalty` (a scripted platoon leader
stays). No vehicle moves more than v_max dt (1.5 m) per step, far less than a length, so
vehicles cannot pass through each other between steps.

`scenario: intersection`: each approach (from S, E, N, W) receives vehicles as a Poisson
process of `arrival_rate` per second; an arrival waits outside the control zone until the
lane entry is clear and a slot is free, then enters `approach_length` metres before the box
with a route drawn from `turn_probabilities` (straight, left, right) and is an agent until its
rear passes `exit_length` metres beyond the box (exit bonus). Agent ids are `vehicle_<n>` in
order of entry, unique within an episode. An episode is one busy period of the control zone:
it starts with `initial_vehicles` vehicles, and ends when no vehicle is left in the zone
(arrivals stop being admitted) or is truncated after `max_seconds`. (RLlib ends a
multi-agent episode once every agent it has seen is done; the env's own rule is the same, so
the views agree.) With `fixed_horizon` every episode instead runs the full `max_seconds`,
the zone possibly empty for a while: for comparing policies over the same traffic and time.

Exogenous randomness has its own streams, drawn from the copy's generator once per reset
and never touched by the actions: the initial vehicles, the Poisson arrivals (one draw per
approach every step, used or not), each approach's routes (the j-th vehicle arriving on an
approach gets that approach's j-th route) and the platoon leader's speed changes. Policies
played from the same seed therefore meet identical arrival times and routes.

`scenario: platoon`: `num_followers` agents follow a scripted leader on one straight lane;
the leader changes its target speed every 4-10 s (uniform in [0.2, 1] v_max, including hard
braking); the episode is truncated after `max_seconds` or ends when every follower has left.

Observation (float32, every entry in [-1, 1]): own progress along the path, speed / v_max,
previous acceleration / accel_max, distance from the front to the box / approach_length
(negative once inside; 1 in the platoon), in-box flag, gap to the vehicle ahead in the lane /
sensing_radius (1: none), closing speed to it / v_max, the route one-hot (3); with
`right_of_way` (intersection) two more: the box is clear for us (no conflicting vehicle that
entered the zone before us, or is in the box now, still has to clear it: the reservation a
connected intersection's manager broadcasts) and the number of such vehicles / 4; then for each of
the `k_nearest` nearest other vehicles within `sensing_radius` (the platoon leader included),
nearest first: position in the ego frame (forward, left) / sensing_radius, cos and sin of the
relative heading, speed / v_max, its distance to the box, its in-box flag, whether its route
conflicts with ours, whether it entered the zone before us (the arrival order a connected
intersection broadcasts; the platoon leader is first), and 1 (a padded entry is all zeros).

Reward per agent and step: `progress_weight` v / v_max, minus `speed_weight`
((v - target_speed) / target_speed)^2, minus `jerk_weight` (jerk / jerk_scale)^2 with
jerk_scale = 2 accel_max / dt, minus (platoon) `headway_weight` times the headway deficit
max(0, 1 - gap / (2 m + v safe_headway_s)), minus (intersection) `conflict_weight` times the
number of vehicles on conflicting routes inside the box together with it, plus `exit_bonus`
on exit, minus `collision_penalty` on collision.

Infos per copy and step: `collisions` (vehicles that collided), `exited`, `delay_s` (time
from arrival, queueing outside included, minus the free-flow time through the zone at
target_speed, summed over the vehicles exiting),
`vehicles` (in the zone), `queue` (waiting outside), `arrivals` (vehicles that arrived this
step, queued or not), and the episode so far:
`collisions_per_100_vehicles` (of the vehicles that left), `throughput_per_min` (exits per
minute) and `mean_delay_s`. Baselines: `baseline_actions("idm")` (Intelligent Driver Model
car following, crossing traffic ignored) and `baseline_actions("fcfs")` (IDM plus a
first-come-first-served reservation of the box: a vehicle enters only after every
conflicting vehicle that entered the zone before it has left the box).
"""

from __future__ import annotations

import copy
import functools
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv
from envs.schema import check
from envs.vehicle_geometry import (
    Routes,
    intersection_routes,
    rectangle_corners,
    rectangles_overlap,
    route_conflicts,
    straight_road,
)

OWN_FEATURES = 10
RIGHT_OF_WAY_FEATURES = 2
NEIGHBOUR_FEATURES = 10
IDM = {"accel": 2.0, "brake": 2.0, "headway_s": 1.5, "min_gap": 2.0}
APPROACH_COLOURS = np.array(
    [[230, 57, 70], [29, 114, 243], [42, 157, 60], [244, 162, 39], [60, 60, 60]], np.uint8
)


@dataclass(frozen=True)
class VehiclesConfig:
    """Vehicles parameters (see the module docstring); lengths in m, times in s."""

    scenario: Literal["intersection", "platoon"] = "intersection"
    max_vehicles: int = 12
    """Intersection: slots, the most vehicles in the control zone at once."""
    num_followers: int = 4
    """Platoon: agents behind the leader."""
    arrival_rate: float = 0.08
    """Vehicles per second per approach (Poisson)."""
    turn_probabilities: list[float] = field(default_factory=lambda: [0.6, 0.2, 0.2])
    """Straight, left, right."""
    initial_vehicles: int = 4
    max_episode_vehicles: int = 200
    """Vehicles admitted per episode at most (agent ids vehicle_0 ... vehicle_<this - 1>)."""
    approach_length: float = 60.0
    exit_length: float = 20.0
    lane_width: float = 3.5
    kerb_radius: float = 4.0
    vehicle_length: float = 4.5
    vehicle_width: float = 1.8
    dt: float = 0.1
    v_max: float = 15.0
    target_speed: float = 10.0
    initial_speed: float = 8.0
    accel_max: float = 3.0
    action_bins: int = 0
    """0: continuous acceleration; N >= 2: Discrete(N) evenly spaced accelerations."""
    max_seconds: float = 60.0
    k_nearest: int = 4
    sensing_radius: float = 50.0
    progress_weight: float = 0.05
    speed_weight: float = 0.02
    jerk_weight: float = 0.02
    headway_weight: float = 0.1
    safe_headway_s: float = 1.0
    exit_bonus: float = 2.0
    collision_penalty: float = 10.0
    conflict_weight: float = 0.0
    """Intersection: penalty per step for each vehicle on a conflicting route inside the box
    at the same time (a near miss; first-come-first-served never pays it)."""
    fixed_horizon: bool = False
    """Intersection: every episode lasts `max_seconds`, also while the zone is empty (paired
    evaluation of policies on the same traffic). RLlib training needs False: its episodes
    need an agent on every step."""
    right_of_way: bool = False
    """Intersection: two more own features from a reservation manager (a connected
    intersection): whether the box is clear for us (no conflicting vehicle that entered the
    zone before us, or is in the box now, still has to clear it) and how many such vehicles
    there are (/ 4, at most 1). The decision stays the vehicle's: when to brake, how hard."""

    def __post_init__(self) -> None:
        check(self.max_vehicles >= 1, "max_vehicles must be >= 1")
        check(self.num_followers >= 1, "num_followers must be >= 1")
        check(self.arrival_rate >= 0, "arrival_rate must be >= 0 (vehicles per second)")
        p = self.turn_probabilities
        check(
            len(p) == 3 and min(p) >= 0 and abs(sum(p) - 1) < 1e-6,
            f"turn_probabilities must be 3 probabilities (straight, left, right) summing "
            f"to 1, got {p}",
        )
        check(
            1 <= self.initial_vehicles <= min(8, self.max_vehicles),
            "initial_vehicles must be in [1, min(8, max_vehicles)]",
        )
        check(
            self.max_episode_vehicles >= self.initial_vehicles,
            "max_episode_vehicles must be >= initial_vehicles",
        )
        check(self.approach_length >= 40, "approach_length must be >= 40")
        check(self.exit_length >= self.vehicle_length, "exit_length must be >= vehicle_length")
        check(self.dt > 0 and self.v_max * self.dt < self.vehicle_length, "need v_max dt < length")
        check(0 < self.target_speed <= self.v_max, "target_speed must be in (0, v_max]")
        check(0 <= self.initial_speed <= self.v_max, "initial_speed must be in [0, v_max]")
        check(self.action_bins == 0 or self.action_bins >= 2, "action_bins must be 0 or >= 2")
        check(self.max_seconds > 0, "max_seconds must be > 0")
        check(self.k_nearest >= 1, "k_nearest must be >= 1")
        check(
            not (self.right_of_way and self.scenario == "platoon"),
            "right_of_way is for scenario: intersection (a platoon has no box)",
        )
        check(
            not (self.fixed_horizon and self.scenario == "platoon"),
            "fixed_horizon is for scenario: intersection (a platoon ends when its followers "
            "have left)",
        )

    @property
    def max_steps(self) -> int:
        return int(round(self.max_seconds / self.dt))

    @property
    def slots(self) -> int:
        return self.max_vehicles if self.scenario == "intersection" else self.num_followers


ARRIVAL_BLOCK = 256  # steps of arrival counts drawn at once


@dataclass
class TrafficStreams:
    """One copy's exogenous randomness for one episode, independent of the actions."""

    start: np.random.Generator  # initial vehicles (platoon: gaps and first speed change)
    arrivals: np.random.Generator  # Poisson counts, 4 per step
    routes: list[np.random.Generator]  # per approach: turns in arrival order
    leader: np.random.Generator  # platoon leader's speed changes
    waiting: list[deque[int]]  # per approach: arrival steps of vehicles not yet entered

    @classmethod
    def draw(cls, rng: np.random.Generator) -> TrafficStreams:
        """New streams from one draw of the copy's own generator."""
        start, arrivals, leader, *routes = (
            np.random.default_rng(s)
            for s in np.random.SeedSequence(int(rng.integers(2**63))).spawn(7)
        )
        return cls(start, arrivals, routes, leader, [deque() for _ in range(4)])


class Vehicles(BatchedEnv):
    """Batched vehicles env; see the module docstring."""

    name = "vehicles"
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    config_class = VehiclesConfig
    dynamic_agents = True

    def __init__(self, num_envs: int = 1, config: VehiclesConfig | None = None, render_mode=None):
        super().__init__(num_envs, render_mode)
        self.config = c = config or VehiclesConfig()
        self.platoon = c.scenario == "platoon"
        k = c.slots
        if self.platoon:
            self.routes: Routes = straight_road(c.v_max * c.max_seconds + 400.0)
            self.conflicts = np.zeros((1, 1), dtype=bool)
            ids = [f"vehicle_{i}" for i in range(k)]
        else:
            geometry = (c.lane_width, c.kerb_radius, c.approach_length, c.exit_length)
            self.routes = intersection_routes(*geometry)
            self.conflicts = route_conflicts(*geometry, c.vehicle_length, c.vehicle_width)
            ids = [f"vehicle_{i}" for i in range(c.max_episode_vehicles)]
        self._episode_ids = tuple(ids)
        self.possible_agents = tuple(f"slot_{i}" for i in range(k))
        self.own_features = OWN_FEATURES + RIGHT_OF_WAY_FEATURES * c.right_of_way
        dim = self.own_features + NEIGHBOUR_FEATURES * c.k_nearest
        low = np.full(dim, -1.0, dtype=np.float32)
        obs_space = gym.spaces.Box(low, -low, dtype=np.float32)
        if c.action_bins:
            act_space: gym.Space = gym.spaces.Discrete(c.action_bins)
            self.accelerations = np.linspace(-c.accel_max, c.accel_max, c.action_bins)
        else:
            act_space = gym.spaces.Box(-c.accel_max, c.accel_max, (1,), dtype=np.float32)
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: act_space for a in self.possible_agents}
        e = num_envs
        self.present = np.zeros((e, k), dtype=bool)
        """Slots holding a vehicle, those leaving on the last step included."""
        self.leaving = np.zeros((e, k), dtype=bool)
        self.route = np.zeros((e, k), dtype=np.int64)
        self.s = np.zeros((e, k))
        self.v = np.zeros((e, k))
        self.accel = np.zeros((e, k))
        self.vid = np.full((e, k), -1, dtype=np.int64)
        self.entered = np.zeros((e, k), dtype=np.int64)
        self.arrived = np.zeros((e, k), dtype=np.int64)
        """Step each vehicle arrived at the zone (queueing before `entered`)."""
        self.traffic: list[TrafficStreams | None] = [None] * e
        # Arrival counts drawn ahead per copy, `[E, ARRIVAL_BLOCK, 4]`, and each copy's next
        # row: the same numbers as one draw of 4 per step from the copy's arrivals stream
        # (numpy draws a block element by element from the same generator), vectorised.
        self._arrival_blocks = np.zeros((e, ARRIVAL_BLOCK, 4), dtype=np.int64)
        self._arrival_row = np.zeros(e, dtype=np.int64)
        self.steps = np.zeros(e, dtype=np.int64)
        self.next_vid = np.zeros(e, dtype=np.int64)
        self.queued = np.zeros((e, 4), dtype=np.int64)
        """Vehicles waiting outside the zone per approach (the lengths of the queues)."""
        self.totals = np.zeros((e, 3))
        """Per episode: exited, collided, summed delay (s)."""
        self._entry_gap = c.vehicle_length + IDM["min_gap"] + c.initial_speed * IDM["headway_s"]
        """A queued vehicle enters once the lane's last vehicle is this far in (its IDM gap)."""
        self.lead_s, self.lead_v = np.zeros(e), np.zeros(e)
        self.lead_target, self.lead_timer = np.zeros(e), np.zeros(e)
        self._scene_cache = self._relative_cache = self._pose_cache = None

    # ---- dynamic agents ------------------------------------------------------------------

    @property
    def episode_agent_ids(self) -> tuple[str, ...]:
        return self._episode_ids

    @property
    def steps_without_agents(self) -> bool:
        return self.config.fixed_horizon

    def active(self) -> np.ndarray:
        return self.present & ~self.leaving

    def slot_agent_ids(self, env_index: int) -> list[str]:
        return [
            f"vehicle_{v}" if v >= 0 else slot
            for v, slot in zip(self.vid[env_index].tolist(), self.possible_agents, strict=True)
        ]

    def idle_actions(self) -> np.ndarray:
        c = self.config
        if c.action_bins:
            return np.full((self.num_envs, c.slots), c.action_bins // 2, dtype=np.int64)
        return np.zeros((self.num_envs, c.slots, 1), dtype=np.float32)

    # ---- episode ---------------------------------------------------------------------------

    def _reset_copies(self, mask: np.ndarray) -> None:
        c = self.config
        self._changed()
        for arr, value in (
            (self.present, False),
            (self.leaving, False),
            (self.vid, -1),
            (self.accel, 0.0),
            (self.steps, 0),
            (self.totals, 0.0),
            (self.queued, 0),
        ):
            arr[mask] = value
        for e in np.flatnonzero(mask):
            self.traffic[e] = traffic = TrafficStreams.draw(self._rngs[e])
            self._draw_arrivals(e)
            rng = traffic.start
            if self.platoon:
                self._reset_platoon(e, rng)
                continue
            first = int(rng.integers(4))
            self.next_vid[e] = 0
            for i in range(c.initial_vehicles):
                approach = (first + i) % 4
                traffic.waiting[approach].append(0)
                self.queued[e, approach] += 1
                self._spawn(e, i, approach, s=30.0 - 16.0 * (i // 4) + rng.uniform(-3, 3))

    def _reset_platoon(self, e: int, rng: np.random.Generator) -> None:
        c = self.config
        self.lead_v[e] = c.initial_speed
        self.lead_target[e] = c.initial_speed
        self.lead_timer[e] = rng.uniform(4.0, 10.0)
        position = 60.0 + 25.0 * c.num_followers
        self.lead_s[e] = position
        for i in range(c.num_followers):
            position -= rng.uniform(15.0, 25.0)
            self.present[e, i], self.route[e, i], self.vid[e, i] = True, 0, i
            self.s[e, i], self.v[e, i], self.entered[e, i] = position, c.initial_speed, 0
            self.arrived[e, i] = 0
        self.next_vid[e] = c.num_followers

    def _spawn(self, e: int, slot: int, approach: int, s: float = 0.0) -> None:
        """The first vehicle waiting on `approach` enters slot `slot` at position `s`, with
        the next id and that approach's next route."""
        c = self.config
        traffic = self.traffic[e]
        # What `Generator.choice(3, p=turn_probabilities)` draws, from the same one uniform.
        turn = int(self._turn_cdf.searchsorted(traffic.routes[approach].random(), side="right"))
        self.arrived[e, slot] = traffic.waiting[approach].popleft()
        self.queued[e, approach] -= 1
        self.present[e, slot], self.leaving[e, slot] = True, False
        self.route[e, slot] = approach * 3 + turn
        self.s[e, slot], self.v[e, slot], self.accel[e, slot] = s, c.initial_speed, 0.0
        self.vid[e, slot] = self.next_vid[e]
        self.next_vid[e] += 1
        self.entered[e, slot] = self.steps[e]

    def _step(self, actions: np.ndarray):
        c = self.config
        self.present &= ~self.leaving  # last step's leavers free their slots now
        self.leaving[:] = False
        acting = self.present.copy()
        accel = self.accelerations[actions] if c.action_bins else actions[..., 0].astype(float)
        accel = np.where(acting, accel, 0.0)
        v = np.clip(self.v + accel * c.dt, 0.0, c.v_max)
        jerk = (accel - self.accel) / c.dt
        self.v = np.where(acting, v, self.v)
        self.s = np.where(acting, self.s + v * c.dt, self.s)
        self.accel = accel
        if self.platoon:
            self._move_leader()
        self._changed()
        collided = self._collisions(acting)
        length = self.routes.length[self.route]
        exited = acting & ~collided & (self.s - c.vehicle_length / 2 >= length)
        self.leaving = collided | exited
        rewards = (
            c.progress_weight * v / c.v_max
            - c.speed_weight * ((v - c.target_speed) / c.target_speed) ** 2
            - c.jerk_weight * (jerk * c.dt / (2 * c.accel_max)) ** 2
            + c.exit_bonus * exited
            - c.collision_penalty * collided
        )
        if self.platoon:
            gap, _ = self._gap_ahead()
            deficit = np.clip(1.0 - gap / (2.0 + v * c.safe_headway_s), 0.0, 1.0)
            rewards -= c.headway_weight * deficit
        elif c.conflict_weight:
            rewards -= c.conflict_weight * self.box_conflicts(acting)
        rewards = np.where(acting, rewards, 0.0).astype(np.float32)
        self.steps += 1
        seconds = (self.steps[:, None] - self.arrived) * c.dt
        delay = np.where(exited, seconds - length / c.target_speed, 0.0)
        remaining = acting & ~self.leaving
        joined = np.zeros_like(acting)
        arrivals = np.zeros(self.num_envs, dtype=np.int64)
        if not self.platoon:
            open_copies = self.steps < c.max_steps
            if not c.fixed_horizon:
                open_copies &= remaining.any(axis=1)
            joined, arrivals = self._arrivals(open_copies)
            self._changed(moved=joined)
        in_zone = remaining | joined
        horizon = (self.steps >= c.max_steps)[:, None]
        if c.fixed_horizon:  # every slot runs to the horizon, present or not
            terminated = np.zeros_like(in_zone)
            truncated = np.broadcast_to(horizon, in_zone.shape).copy()
        else:
            truncated = in_zone & horizon
            terminated = ~in_zone
        self.totals += np.stack([exited.sum(1), collided.sum(1), delay.sum(1)], axis=1)
        left = self.totals[:, 0] + self.totals[:, 1]
        minutes = self.steps * c.dt / 60.0
        infos = {
            "collisions": collided.sum(1),
            "exited": exited.sum(1),
            "delay_s": delay.sum(1),
            "vehicles": in_zone.sum(1),
            "queue": self.queued.sum(axis=1),
            "arrivals": arrivals,
            "collisions_per_100_vehicles": 100.0 * self.totals[:, 1] / np.maximum(left, 1),
            "throughput_per_min": self.totals[:, 0] / minutes,
            "mean_delay_s": self.totals[:, 2] / np.maximum(self.totals[:, 0], 1),
            "episode_steps": self.steps.copy(),
        }
        return rewards, terminated, truncated, infos

    def box_conflicts(self, acting: np.ndarray) -> np.ndarray:
        """`[E, K]`: how many vehicles on conflicting routes share the box with each one."""
        in_box = self._scene()[5] & acting
        conflict = self.conflicts[self.route[:, :, None], self.route[:, None, :]]
        return (conflict & in_box[:, :, None] & in_box[:, None, :]).sum(axis=2)

    def _move_leader(self) -> None:
        c = self.config
        self.lead_timer -= c.dt
        for e in np.flatnonzero(self.lead_timer <= 0):
            rng = self.traffic[e].leader
            self.lead_target[e] = rng.uniform(0.2, 1.0) * c.v_max
            self.lead_timer[e] = rng.uniform(4.0, 10.0)
        accel = np.clip(self.lead_target - self.lead_v, -c.accel_max, 2.0)
        self.lead_v = np.clip(self.lead_v + accel * c.dt, 0.0, c.v_max)
        self.lead_s += self.lead_v * c.dt

    @functools.cached_property
    def _turn_cdf(self) -> np.ndarray:
        """Cumulative turn probabilities (straight, left, right), normalised as numpy's
        `Generator.choice` normalises them."""
        cdf = np.cumsum(self.config.turn_probabilities, dtype=np.float64)
        return cdf / cdf[-1]

    @functools.cached_property
    def _slot_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pair of slots (i < j), as two index arrays."""
        return np.triu_indices(self.config.slots, 1)

    def _collisions(self, acting: np.ndarray) -> np.ndarray:
        """`[E, K]`: acting vehicles whose footprint overlaps another (or the leader's).
        Only pairs whose centres are closer than a footprint diagonal get the exact test."""
        c = self.config
        x, y, h = self._pose()
        first, second = self._slot_pairs
        e, pair = np.nonzero(acting[:, first] & acting[:, second])
        i, j = first[pair], second[pair]
        near = np.hypot(x[e, i] - x[e, j], y[e, i] - y[e, j])
        near = near < np.hypot(c.vehicle_length, c.vehicle_width)
        e, i, j = e[near], i[near], j[near]
        hit = np.zeros_like(acting)
        if len(e):
            size = c.vehicle_length, c.vehicle_width
            overlap = rectangles_overlap(
                rectangle_corners(x[e, i], y[e, i], h[e, i], *size),
                rectangle_corners(x[e, j], y[e, j], h[e, j], *size),
            )
            hit[e[overlap], i[overlap]] = True
            hit[e[overlap], j[overlap]] = True
        if self.platoon:
            hit |= acting & (np.abs(self.lead_s[:, None] - self.s) < c.vehicle_length)
        return hit

    def _arrivals(self, open_copies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Poisson arrivals join the approach queues of open copies; queued vehicles enter
        free slots when their lane entry is clear. Every copy draws its arrivals every step
        (a closed copy discards them), so the stream stays aligned whatever the policy did.
        Returns the slots that joined and each copy's number of arrivals."""
        c = self.config
        joined = np.zeros((self.num_envs, c.slots), dtype=bool)
        arrived_all = self._arrival_blocks[np.arange(self.num_envs), self._arrival_row]
        self._arrival_row += 1
        for e in np.flatnonzero(self._arrival_row == ARRIVAL_BLOCK):
            self._draw_arrivals(e)
        arrived_all[~open_copies] = 0
        for e, approach in zip(*np.nonzero(arrived_all), strict=True):
            self.traffic[e].waiting[approach].extend(
                [int(self.steps[e])] * int(arrived_all[e, approach])
            )
        self.queued += arrived_all
        # Each open copy's waiting approaches whose lane entry is clear, in approach order,
        # take one free slot each while slots and episode ids last.
        near_entry = self.present & (self.s < self._entry_gap)
        lane = self.route // 3
        occupied = np.stack([(near_entry & (lane == a)).any(axis=1) for a in range(4)], 1)
        candidates = (self.queued > 0) & ~occupied & open_copies[:, None]
        free = (~self.present & ~self.leaving).sum(axis=1)
        budget = np.minimum(free, c.max_episode_vehicles - self.next_vid)
        entering = candidates & (np.cumsum(candidates, axis=1) <= budget[:, None])
        for e, approach in zip(*np.nonzero(entering), strict=True):
            slot = int(np.flatnonzero(~self.present[e] & ~self.leaving[e])[0])
            self._spawn(e, slot, int(approach))
            joined[e, slot] = True
        return joined, arrived_all.sum(axis=1)

    def _draw_arrivals(self, e: int) -> None:
        """The next `ARRIVAL_BLOCK` steps of copy `e`'s arrival counts."""
        p = self.config.arrival_rate * self.config.dt
        self._arrival_blocks[e] = self.traffic[e].arrivals.poisson(p, (ARRIVAL_BLOCK, 4))
        self._arrival_row[e] = 0

    # ---- observations --------------------------------------------------------------------

    def _scene(self):
        """Every vehicle's pose and features `[E, N]` (N = slots, plus the platoon leader)
        and who is there; computed once per state (`_changed` forgets it)."""
        if self._scene_cache is None:
            self._scene_cache = self._compute_scene()
        return self._scene_cache

    def _changed(self, moved: np.ndarray | None = None) -> None:
        """Forgets what was computed from the state. `moved` (`[E, K]` bool): only these
        slots' positions or routes changed, so the other slots' poses are kept."""
        self._scene_cache = None
        self._relative_cache = None
        if moved is None or self._pose_cache is None:
            self._pose_cache = None
        elif moved.any():
            for part, fresh in zip(
                self._pose_cache, self.routes.pose(self.route[moved], self.s[moved]), strict=True
            ):
                part[moved] = fresh

    def _pose(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every slot's (x, y, heading) `[E, K]`, computed once per position."""
        if self._pose_cache is None:
            self._pose_cache = self.routes.pose(self.route, self.s)
        return self._pose_cache

    def _compute_scene(self):
        c = self.config
        x, y, h = self._pose()
        box_dist = np.clip(
            (self.routes.box_entry[self.route] - self.s - c.vehicle_length / 2) / c.approach_length,
            -1.0,
            1.0,
        )
        in_box = (self.s + c.vehicle_length / 2 >= self.routes.box_entry[self.route]) & (
            self.s - c.vehicle_length / 2 <= self.routes.box_exit[self.route]
        )
        there = self.present.copy()
        v, route, vid = self.v, self.route, self.vid
        if self.platoon:
            box_dist = np.ones_like(self.s)
            lx, ly, lh = self.routes.pose(np.zeros(self.num_envs, np.int64), self.lead_s)
            x, y, h = (np.concatenate([a, b[:, None]], 1) for a, b in ((x, lx), (y, ly), (h, lh)))
            v = np.concatenate([v, self.lead_v[:, None]], 1)
            box_dist = np.concatenate([box_dist, np.ones((self.num_envs, 1))], 1)
            in_box = np.concatenate([in_box, np.zeros((self.num_envs, 1), bool)], 1)
            there = np.concatenate([there, np.ones((self.num_envs, 1), bool)], 1)
            route = np.concatenate([route, np.zeros((self.num_envs, 1), np.int64)], 1)
            vid = np.concatenate([vid, np.full((self.num_envs, 1), -1, np.int64)], 1)
        return x, y, h, v, box_dist, in_box, there, route, vid

    def _relative(self):
        """For each occupied slot (rows `e, i` = the nonzero of `present`), every vehicle in its
        ego frame: forward, left `[P, N]`, relative heading, distance (inf for itself and
        absent vehicles). Empty slots observe nothing, so they get no rows."""
        if self._relative_cache is None:
            x, y, h, _, _, _, there, _, _ = self._scene()
            self._relative_cache = self._compute_relative(x, y, h, there)
        return self._relative_cache

    def _compute_relative(self, x, y, h, there):
        e, i = np.nonzero(self.present)
        dx, dy = x[e] - x[e, i][:, None], y[e] - y[e, i][:, None]
        c, s = np.cos(h[e, i])[:, None], np.sin(h[e, i])[:, None]
        forward, left = c * dx + s * dy, -s * dx + c * dy
        dh = h[e] - h[e, i][:, None]
        others = there[e]
        others[np.arange(len(e)), i] = False
        dist = np.full(dx.shape, np.inf)
        dist[others] = np.hypot(dx[others], dy[others])
        return e, i, forward, left, dh, dist

    def _gap_ahead(self):
        """Bumper gap to, and speed of, the nearest vehicle ahead in the lane `[E, K]`
        (inf and own speed when none, and for empty slots)."""
        v = self._scene()[3]
        e, i, forward, left, dh, dist = self._relative()
        ahead = np.isfinite(dist) & (forward > 0) & (np.abs(left) < self.config.lane_width / 2)
        ahead[ahead] = np.cos(dh[ahead]) > 0.5  # heading within 60 degrees of ours
        gaps = np.where(ahead, forward - self.config.vehicle_length, np.inf)
        nearest = gaps.argmin(axis=1)
        row_gap = gaps[np.arange(len(e)), nearest]
        gap = np.full(self.present.shape, np.inf)
        gap[e, i] = row_gap
        speed = self.v.copy()
        speed[e, i] = np.where(np.isfinite(row_gap), v[e, nearest], self.v[e, i])
        return gap, speed

    def _own_observations(self) -> np.ndarray:
        """`[E, K, own_features]`: each slot's own features (the first part of its row)."""
        c = self.config
        k, radius = c.slots, c.sensing_radius
        _, _, _, _, box_dist, in_box, _, _, _ = self._scene()
        gap, lead_speed = self._gap_ahead()
        own = np.zeros((self.num_envs, k, self.own_features), dtype=np.float32)
        own[..., 0] = np.clip(self.s / self.routes.length[self.route], 0.0, 1.0)
        own[..., 1] = self.v / c.v_max
        own[..., 2] = self.accel / c.accel_max
        own[..., 3] = box_dist[:, :k]
        own[..., 4] = in_box[:, :k]
        own[..., 5] = np.clip(gap / radius, 0.0, 1.0)
        own[..., 6] = np.clip((self.v - lead_speed) / c.v_max, -1.0, 1.0)
        own[..., 7:10] = (self.route % 3)[..., None] == np.arange(3)  # the turn, one-hot
        if c.right_of_way:
            blockers = self._blockers().sum(axis=2)
            own[..., OWN_FEATURES] = blockers == 0
            own[..., OWN_FEATURES + 1] = np.minimum(blockers / 4.0, 1.0)
        return own

    PER_COPY_STATE = (
        "present",
        "leaving",
        "route",
        "s",
        "v",
        "accel",
        "vid",
        "lead_s",
        "lead_v",
    )
    """The state arrays `_observe` reads, first axis the copy."""

    def _observe_copies(self, copies: np.ndarray) -> np.ndarray:
        """Observes only `copies`, through a shallow copy of this env holding their rows."""
        subset = copy.copy(self)
        for name in self.PER_COPY_STATE:
            setattr(subset, name, getattr(self, name)[copies])
        subset.num_envs = len(copies)
        subset._changed()
        return subset._observe()

    def _observe(self) -> np.ndarray:
        c = self.config
        k, n_near, radius = c.slots, c.k_nearest, c.sensing_radius
        _, _, _, v, box_dist, in_box, _, route, vid = self._scene()
        e, i, forward, left, dh, dist = self._relative()
        own = self._own_observations()
        # Each occupied slot's row (copy e, slot i) with its `n_near` nearest others in
        # `order` `[P, n_near]`; empty slots observe zeros.
        order = np.argsort(dist, axis=1, kind="stable")[:, :n_near]
        rows, others = np.arange(len(e))[:, None], (e[:, None], order)
        picked_dh = dh[rows, order]
        row = np.empty((len(e), self.own_features + n_near * NEIGHBOUR_FEATURES), np.float32)
        flat = e * k + i  # one index per row: cheaper to gather and scatter than (e, i)
        row[:, : self.own_features] = own.reshape(-1, own.shape[-1])[flat]
        features = row[:, self.own_features :].reshape(len(e), n_near, NEIGHBOUR_FEATURES)
        features[..., 0] = np.clip(forward[rows, order] / radius, -1, 1)
        features[..., 1] = np.clip(left[rows, order] / radius, -1, 1)
        features[..., 2] = np.cos(picked_dh)
        features[..., 3] = np.sin(picked_dh)
        features[..., 4] = v[others] / c.v_max
        features[..., 5] = box_dist[others]
        features[..., 6] = in_box[others]
        features[..., 7] = self.conflicts[self.route[e, i][:, None], route[others]]
        features[..., 8] = vid[others] < self.vid[e, i][:, None]
        features[..., 9] = 1.0
        features[dist[rows, order] > radius] = 0.0  # beyond sensing (or absent): zeros
        obs = np.zeros((self.num_envs, k, row.shape[1]), np.float32)
        obs.reshape(-1, row.shape[1])[flat] = row
        return obs

    def state(self) -> np.ndarray:
        """Every slot's own features (zeros for empty slots), concatenated."""
        own = np.where(self.present[..., None], self._own_observations(), 0.0)
        return own.astype(np.float32).reshape(self.num_envs, -1)

    @property
    def state_space(self) -> gym.spaces.Box:
        size = self.own_features * self.config.slots
        return gym.spaces.Box(-1.0, 1.0, (size,), dtype=np.float32)

    # ---- baselines ---------------------------------------------------------------------

    def baseline_actions(self, kind: Literal["idm", "fcfs"] = "fcfs") -> np.ndarray:
        """Actions of a scripted driver for every slot, in this env's action format."""
        c = self.config
        gap, lead_speed = self._gap_ahead()
        accel = idm_acceleration(self.v, gap, lead_speed, c.target_speed)
        if kind == "fcfs" and not self.platoon:
            box_gap = self.routes.box_entry[self.route] - self.s - c.vehicle_length / 2
            accel = yield_at_line(accel, self.v, box_gap, self._may_enter(), c.target_speed)
        elif kind not in ("idm", "fcfs"):
            raise ValueError(f"unknown baseline {kind!r}; use 'idm' or 'fcfs'")
        accel = np.clip(accel, -c.accel_max, c.accel_max)
        if c.action_bins:
            return np.abs(accel[..., None] - self.accelerations).argmin(-1)
        return accel[..., None].astype(np.float32)

    def _may_enter(self) -> np.ndarray:
        """`[E, K]`: no conflicting vehicle that entered the zone earlier (or is in the
        box now) still has to clear the box."""
        return ~self._blockers().any(axis=2)

    def _blockers(self) -> np.ndarray:
        """`[E, K, K]`: [e, i, j] when vehicle j has the box before vehicle i: their routes
        conflict, j has not cleared the box, and j entered the zone earlier or is in the box."""
        c = self.config
        active = self.present & ~self.leaving
        uncleared = active & (self.s - c.vehicle_length / 2 < self.routes.box_exit[self.route])
        in_box = active & (self.s + c.vehicle_length / 2 >= self.routes.box_entry[self.route])
        conflict = self.conflicts[self.route[:, :, None], self.route[:, None, :]]
        earlier = self.vid[:, None, :] < self.vid[:, :, None]
        return conflict & uncleared[:, None, :] & (earlier | in_box[:, None, :])

    # ---- rendering -----------------------------------------------------------------------

    def render(self, env_index: int = 0, size: int = 320) -> np.ndarray:
        c, e = self.config, env_index
        image = np.full((size, size, 3), 200, dtype=np.uint8)
        if self.platoon:
            centre = float(self.lead_s[e]) - 40.0
            half = 60.0
            cx, cy = centre, 0.0
        else:
            half = c.lane_width + c.kerb_radius + c.approach_length * 0.8
            cx = cy = 0.0
        scale = size / (2 * half)
        pixels = (np.arange(size) + 0.5) / scale - half
        px, py = np.meshgrid(pixels + cx, -pixels + cy)  # image row 0 is north
        road = np.abs(py) < c.lane_width
        if not self.platoon:
            road |= np.abs(px) < c.lane_width
            box = c.lane_width + c.kerb_radius
            road |= (np.abs(px) < box) & (np.abs(py) < box)
        image[road] = 110
        image[road & (np.abs(py) < 0.25)] = 230  # centre line
        if not self.platoon:
            image[road & (np.abs(px) < 0.25)] = 230
        x, y, h, *_ = self._scene()
        for i in np.flatnonzero(np.r_[self.present[e], [self.platoon]]):
            colour = 4 if i >= c.slots else (self.route[e, i] // 3 if not self.platoon else 0)
            dx, dy = px - x[e, i], py - y[e, i]
            fwd = dx * np.cos(h[e, i]) + dy * np.sin(h[e, i])
            side = -dx * np.sin(h[e, i]) + dy * np.cos(h[e, i])
            body = (np.abs(fwd) <= c.vehicle_length / 2) & (np.abs(side) <= c.vehicle_width / 2)
            image[body] = APPROACH_COLOURS[colour]
            if i < c.slots and self.leaving[e, i]:
                image[body & (np.abs(fwd) < 1.0)] = 0
        return image


def yield_at_line(accel, v, box_gap, may_enter, desired_speed: float) -> np.ndarray:
    """First-come-first-served driving: a vehicle not yet in the box (front `box_gap` m
    before it) that may not enter brakes (IDM towards a standing obstacle) to stop 1 m
    before the line; otherwise `accel` is kept."""
    stop_gap = box_gap - 1.0
    waiting = ~may_enter & (stop_gap > -0.5)
    at_line = idm_acceleration(v, np.maximum(stop_gap, 0.01), 0.0, desired_speed)
    return np.where(waiting, np.minimum(accel, at_line), accel)


def idm_acceleration(v, gap, lead_speed, desired_speed: float) -> np.ndarray:
    """Intelligent Driver Model: a [1 - (v/v0)^4 - (s*/gap)^2] with
    s* = s0 + v T + v (v - v_lead) / (2 sqrt(a b)); no leader: gap = inf."""
    a, b, t, s0 = IDM["accel"], IDM["brake"], IDM["headway_s"], IDM["min_gap"]
    desired_gap = s0 + np.maximum(0.0, v * t + v * (v - lead_speed) / (2 * np.sqrt(a * b)))
    interaction = np.where(np.isfinite(gap), (desired_gap / np.maximum(gap, 0.01)) ** 2, 0.0)
    return a * (1 - (v / desired_speed) ** 4 - interaction)
