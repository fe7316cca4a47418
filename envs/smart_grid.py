"""Smart grid: thermal and renewable producers, consumers with demand response, and storage
trade energy over one day; every agent is paid in money and bears a share of an imbalance
penalty, so the game is mixed-motive.

Units: power in MW, energy in MWh, money in $; a step lasts `dt = 24 / steps_per_day` hours.
Agents act with one number in [-1, 1] each (or one of `action_bins` evenly spaced values):

- thermal_i: output target `(a + 1) / 2 * capacity`, moved toward at most `ramp * dt` MW per
  step; generating costs `marginal_cost` $/MWh.
- renewable_i: uses `(a + 1) / 2` of what is available (`capacity * solar profile(hour) *
  weather`, the weather factor drawn per episode); the rest is curtailed; no marginal cost.
- consumer_i: demand `peak * daily profile(hour) * (1 + noise)`. `a < 0` defers `-a * 30 %`
  of this step's demand into a backlog (discomfort `discomfort_cost` $/MWh deferred); `a > 0`
  serves up to `a * 30 %` of the demand from the backlog. Backlog left at the end of the day
  is shed. Served energy is worth `value_of_energy` $/MWh to the consumer.
- storage_i: `a > 0` discharges `a * power` MW, `a < 0` charges `-a * power` MW, limited by
  the state of charge: discharging d MW takes `d * dt / eff` MWh out, charging c MW puts
  `c * dt * eff` in, and the state of charge stays within [0, energy capacity]: an empty
  battery delivers nothing.

Clearing, each step: supply S = thermal + renewable used + discharge; demand D = consumption
+ charging. If S < D, loads are served in proportion S / D (the rest is unserved energy); if
S > D, producers sell in proportion D / S (the surplus is spilled).
Price rule: `price = clip(reference_price * (D / S) ** price_elasticity, 0, price_cap)`: it
rises with scarcity and falls with surplus; it is set by this step's balance and paid on it.
Imbalance penalty: `imbalance_penalty * |S - D| * dt`, shared equally by all agents.

Rewards (times `reward_scale`, default 1e-3: thousands of $), `reward: individual`:
producers `price * sold - cost`; consumers `(value_of_energy - price) * served - discomfort`;
storage `price * (discharge sold - charge bought)`; each minus its penalty share. Transfers
cancel, so the sum of rewards is the social welfare: value served - generation cost -
discomfort - penalty. Selfish producers gain from withholding output (the price rises faster
than their sales fall): market power, as in real markets. `reward: team` pays every agent
the welfare / number of agents instead.

Observation of every agent, one layout (15 values): hour as sin/cos, day fraction, last
price / price cap, last imbalance / total peak demand, current total demand / total peak,
renewable availability / renewable capacity, four own values (thermal: output / capacity,
marginal cost / price cap, ramp / capacity; renewable: available / capacity, used /
capacity; consumer: demand / peak, backlog / (peak * dt); storage: state of charge /
capacity, power / energy capacity), and the agent type one-hot. Bounds differ per type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv
from envs.schema import check

TYPES = ("thermal", "renewable", "consumer", "storage")
SHIFT = 0.3  # demand response: at most 30 % of a step's demand deferred or caught up


@dataclass(frozen=True)
class SmartGridConfig:
    """Smart grid parameters (see the module docstring for the rules and units)."""

    steps_per_day: int = 24
    num_thermal: int = 1
    num_renewable: int = 1
    num_consumers: int = 3
    num_storage: int = 1
    thermal_capacity: float = 50.0
    """MW per thermal unit."""
    thermal_cost: float = 40.0
    """$/MWh."""
    thermal_ramp: float = 15.0
    """MW per hour."""
    renewable_capacity: float = 30.0
    """MW per renewable unit at full sun."""
    weather_range: tuple[float, float] = (0.4, 1.0)
    """The episode's weather factor is drawn uniformly from this range."""
    consumer_peak: float = 20.0
    """MW per consumer at the profile's peak."""
    demand_noise: float = 0.05
    """Standard deviation of the multiplicative demand noise."""
    value_of_energy: float = 100.0
    """$/MWh a consumer gains from served energy."""
    discomfort_cost: float = 15.0
    """$/MWh of demand deferred."""
    storage_energy: float = 40.0
    """MWh per storage unit."""
    storage_power: float = 20.0
    """MW per storage unit."""
    storage_efficiency: float = 0.95
    """One-way efficiency (charge and discharge)."""
    initial_soc: float = 0.5
    """State of charge at the start of the day, as a fraction of capacity."""
    reference_price: float = 50.0
    price_elasticity: float = 2.0
    price_cap: float = 500.0
    imbalance_penalty: float = 200.0
    """$/MWh of |supply - demand|."""
    reward_scale: float = 1e-3
    reward: Literal["individual", "team"] = "individual"
    """individual: each agent's own money (mixed-motive: producers profit from scarcity);
    team: every agent receives the social welfare / number of agents (a grid operator's
    objective)."""
    action_bins: int | None = None
    """Discrete actions: this many evenly spaced values in [-1, 1]."""

    def __post_init__(self) -> None:
        check(
            2 <= self.steps_per_day <= 1440,
            f"steps_per_day must be in 2..1440, got {self.steps_per_day}",
        )
        for key in ("num_thermal", "num_renewable", "num_consumers", "num_storage"):
            check(getattr(self, key) >= 0, f"{key} must be >= 0, got {getattr(self, key)}")
        check(self.num_consumers >= 1, "the grid needs at least one consumer")
        check(self.num_thermal + self.num_renewable >= 1, "the grid needs at least one producer")
        check(0 < self.storage_efficiency <= 1, "storage_efficiency must be in (0, 1]")
        check(0 <= self.initial_soc <= 1, "initial_soc must be in [0, 1]")
        lo, hi = self.weather_range
        check(
            0 <= lo <= hi <= 1,
            f"weather_range must satisfy 0 <= low <= high <= 1, got {self.weather_range}",
        )
        check(self.price_cap > 0 and self.reference_price > 0, "prices must be positive")
        check(self.action_bins is None or self.action_bins >= 2, "action_bins must be >= 2")

    @property
    def dt(self) -> float:
        return 24.0 / self.steps_per_day


def solar_profile(hours: np.ndarray) -> np.ndarray:
    """Fraction of renewable capacity available at each hour: a daylight sine, 6 h to 18 h."""
    return np.clip(np.sin(np.pi * (hours - 6.0) / 12.0), 0.0, None)


def demand_profile(hours: np.ndarray) -> np.ndarray:
    """Fraction of peak demand at each hour: a night trough, morning and evening peaks."""
    morning = np.exp(-(((hours - 8.0) / 2.0) ** 2))
    evening = np.exp(-(((hours - 19.0) / 2.5) ** 2))
    return 0.5 + 0.25 * morning + 0.5 * evening


class SmartGrid(BatchedEnv):
    """Batched smart grid; see the module docstring."""

    name = "smart_grid"
    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    config_class = SmartGridConfig

    def __init__(self, num_envs: int = 1, config: SmartGridConfig | None = None, render_mode=None):
        super().__init__(num_envs, render_mode)
        self.config = c = config or SmartGridConfig()
        counts = (c.num_thermal, c.num_renewable, c.num_consumers, c.num_storage)
        self.agent_types = tuple(t for t, k in zip(TYPES, counts, strict=True) for _ in range(k))
        self.possible_agents = tuple(
            f"{t}_{i}" for t, k in zip(TYPES, counts, strict=True) for i in range(k)
        )
        starts = np.concatenate([[0], np.cumsum(counts)])
        self.slices = {t: slice(starts[j], starts[j + 1]) for j, t in enumerate(TYPES)}
        self.total_peak = c.num_consumers * c.consumer_peak * 1.5  # profile max 1.25, noise
        self.observation_spaces = {
            a: self._observation_space(t)
            for a, t in zip(self.possible_agents, self.agent_types, strict=True)
        }
        if c.action_bins:
            space = gym.spaces.Discrete(c.action_bins)
            self._bin_values = np.linspace(-1.0, 1.0, c.action_bins)
        else:
            space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
        self.action_spaces = {a: space for a in self.possible_agents}
        hours = (np.arange(c.steps_per_day) + 0.5) * c.dt
        self._solar = solar_profile(hours)
        self._demand_shape = demand_profile(hours)
        e = num_envs
        self.step_index = np.zeros(e, dtype=np.int64)
        self.weather = np.ones(e)
        self.demand_noise = np.zeros((e, c.steps_per_day, c.num_consumers))
        self.thermal_output = np.zeros((e, c.num_thermal))
        self.renewable_used = np.zeros((e, c.num_renewable))
        self.backlog = np.zeros((e, c.num_consumers))
        self.soc = np.zeros((e, c.num_storage))
        self.last_price = np.full(e, c.reference_price)
        self.last_imbalance = np.zeros(e)
        self.history: list[dict[str, np.ndarray]] = []  # per step, for the one-day chart

    def _observation_space(self, agent_type: str) -> gym.spaces.Box:
        c = self.config
        common_low = [-1, -1, 0, 0, -2, 0, 0]
        common_high = [1, 1, 1, 1, 2, 1, 1]
        own_high = {
            "thermal": [1, c.thermal_cost / c.price_cap, c.thermal_ramp / c.thermal_capacity, 0],
            "renewable": [1, 1, 0, 0],
            "consumer": [1.5, SHIFT * 1.5 * c.steps_per_day, 0, 0],
            "storage": [1, c.storage_power / c.storage_energy, 0, 0],
        }[agent_type]
        low = np.array(common_low + [0.0] * 4 + [0.0] * 4, dtype=np.float32)
        high = np.array(common_high + own_high + [1.0] * 4, dtype=np.float32)
        return gym.spaces.Box(low, high, dtype=np.float32)

    # ---- dynamics ---------------------------------------------------------------------

    def _reset_copies(self, mask: np.ndarray) -> None:
        c = self.config
        for e in np.flatnonzero(mask):
            rng = self._rngs[e]
            self.weather[e] = rng.uniform(*c.weather_range)
            noise = rng.normal(0.0, c.demand_noise, (c.steps_per_day, c.num_consumers))
            self.demand_noise[e] = np.clip(noise, -0.2, 0.2)
        self.step_index[mask] = 0
        self.thermal_output[mask] = 0.5 * c.thermal_capacity
        self.renewable_used[mask] = 0.0
        self.backlog[mask] = 0.0
        self.soc[mask] = c.initial_soc * c.storage_energy
        self.last_price[mask] = c.reference_price
        self.last_imbalance[mask] = 0.0
        if mask[0]:
            self.history = []

    def demand_now(self) -> np.ndarray:
        """`[E, consumers]` MW each consumer needs this step (before demand response)."""
        c, t = self.config, np.minimum(self.step_index, self.config.steps_per_day - 1)
        noise = np.take_along_axis(self.demand_noise, t[:, None, None], axis=1)[:, 0]
        return c.consumer_peak * self._demand_shape[t][:, None] * (1.0 + noise)

    def available_now(self) -> np.ndarray:
        """`[E]` MW each renewable unit could produce this step."""
        t = np.minimum(self.step_index, self.config.steps_per_day - 1)
        return self.config.renewable_capacity * self._solar[t] * self.weather

    def _unit_actions(self, actions: np.ndarray) -> np.ndarray:
        """`[E, A]` values in [-1, 1] from Box or binned Discrete actions."""
        if self.config.action_bins:
            return self._bin_values[actions]
        return actions[..., 0].astype(np.float64)

    def _step(self, actions: np.ndarray):
        c, dt, s = self.config, self.config.dt, self.slices
        a = self._unit_actions(actions)
        # Producers.
        target = (a[:, s["thermal"]] + 1.0) * 0.5 * c.thermal_capacity
        ramp = c.thermal_ramp * dt
        thermal = np.clip(target, self.thermal_output - ramp, self.thermal_output + ramp)
        thermal = np.clip(thermal, 0.0, c.thermal_capacity)
        available = np.repeat(self.available_now()[:, None], c.num_renewable, axis=1)
        renewable = (a[:, s["renewable"]] + 1.0) * 0.5 * available
        curtailed = available - renewable
        # Consumers: defer into the backlog or catch up from it.
        demand = self.demand_now()
        act_c = a[:, s["consumer"]]
        deferred = np.maximum(-act_c, 0.0) * SHIFT * demand
        caught_up = np.minimum(np.maximum(act_c, 0.0) * SHIFT * demand, self.backlog / dt)
        consumption = demand - deferred + caught_up
        self.backlog += (deferred - caught_up) * dt
        # Storage within its power and state-of-charge limits.
        act_s = a[:, s["storage"]]
        eff = c.storage_efficiency
        discharge = np.minimum(np.maximum(act_s, 0.0) * c.storage_power, self.soc * eff / dt)
        room = c.storage_energy - self.soc
        charge = np.minimum(np.maximum(-act_s, 0.0) * c.storage_power, room / (eff * dt))
        self.soc = np.clip(
            self.soc - discharge * dt / eff + charge * dt * eff, 0.0, c.storage_energy
        )
        # Clearing.
        supply = thermal.sum(1) + renewable.sum(1) + discharge.sum(1)
        load = consumption.sum(1) + charge.sum(1)
        served_share = np.where(load > supply, supply / np.maximum(load, 1e-9), 1.0)
        sold_share = np.where(supply > load, load / np.maximum(supply, 1e-9), 1.0)
        ratio = load / np.maximum(supply, 1e-6)
        price = np.clip(c.reference_price * ratio**c.price_elasticity, 0.0, c.price_cap)
        imbalance = supply - load
        penalty = c.imbalance_penalty * np.abs(imbalance) * dt / self.num_agents
        p = price[:, None]
        served = consumption * served_share[:, None]
        charged = charge * served_share[:, None]
        rewards = np.empty((self.num_envs, self.num_agents))
        rewards[:, s["thermal"]] = (
            p * thermal * sold_share[:, None] - c.thermal_cost * thermal
        ) * dt
        rewards[:, s["renewable"]] = p * renewable * sold_share[:, None] * dt
        discomfort = c.discomfort_cost * deferred * dt
        rewards[:, s["consumer"]] = (c.value_of_energy - p) * served * dt - discomfort
        rewards[:, s["storage"]] = p * (discharge * sold_share[:, None] - charged) * dt
        rewards -= penalty[:, None]
        if c.reward == "team":
            rewards[:] = rewards.sum(1, keepdims=True) / self.num_agents
        self.thermal_output, self.renewable_used = thermal, renewable
        self.last_price, self.last_imbalance = price, imbalance
        self.step_index += 1
        over = self.step_index >= c.steps_per_day
        shed_backlog = np.where(over[:, None], self.backlog, 0.0).sum(1)
        unserved = (consumption - served).sum(1) * dt + shed_backlog
        generated = (thermal.sum(1) + renewable.sum(1)) * dt
        infos = {
            "price": price,
            "imbalance": imbalance,
            "unserved_energy": unserved,
            "curtailment": curtailed.sum(1) * dt,
            "total_cost": c.thermal_cost * thermal.sum(1) * dt + discomfort.sum(1),
            "renewable_share": np.where(
                generated > 0, renewable.sum(1) * dt / np.maximum(generated, 1e-9), 0.0
            ),
            "welfare": rewards.sum(1),
            "state_of_charge": self.soc.sum(1) / max(c.num_storage * c.storage_energy, 1e-9),
        }
        if self.render_mode is not None:  # the day's record is for pictures only
            self._record(thermal, renewable, discharge, charge, consumption, demand, price)
        terminated = np.repeat(over[:, None], self.num_agents, axis=1)
        return (
            (rewards * c.reward_scale).astype(np.float32),
            terminated,
            np.zeros_like(terminated),
            {k: v.astype(np.float32) for k, v in infos.items()},
        )

    def _observe(self) -> np.ndarray:
        c, s = self.config, self.slices
        e, n = self.num_envs, self.num_agents
        t = np.minimum(self.step_index, c.steps_per_day - 1)
        hour = (t + 0.5) * c.dt
        demand = self.demand_now()
        available = self.available_now()
        obs = np.zeros((e, n, 15), dtype=np.float32)
        obs[:, :, 0] = np.sin(2 * np.pi * hour / 24)[:, None]
        obs[:, :, 1] = np.cos(2 * np.pi * hour / 24)[:, None]
        obs[:, :, 2] = (self.step_index / c.steps_per_day)[:, None]
        obs[:, :, 3] = (self.last_price / c.price_cap)[:, None]
        obs[:, :, 4] = np.clip(self.last_imbalance / self.total_peak, -2, 2)[:, None]
        obs[:, :, 5] = np.clip(demand.sum(1) / self.total_peak, 0, 1)[:, None]
        obs[:, :, 6] = (available / c.renewable_capacity)[:, None]
        own = obs[:, :, 7:11]
        own[:, s["thermal"], 0] = self.thermal_output / c.thermal_capacity
        own[:, s["thermal"], 1] = c.thermal_cost / c.price_cap
        own[:, s["thermal"], 2] = c.thermal_ramp / c.thermal_capacity
        own[:, s["renewable"], 0] = (available / c.renewable_capacity)[:, None]
        own[:, s["renewable"], 1] = self.renewable_used / c.renewable_capacity
        own[:, s["consumer"], 0] = demand / c.consumer_peak
        own[:, s["consumer"], 1] = self.backlog / (c.consumer_peak * c.dt)
        own[:, s["storage"], 0] = self.soc / c.storage_energy
        own[:, s["storage"], 1] = c.storage_power / c.storage_energy
        for j, agent_type in enumerate(TYPES):
            obs[:, s[agent_type], 11 + j] = 1.0
        return obs

    # ---- baseline, chart ----------------------------------------------------------------

    def baseline_actions(self) -> np.ndarray:
        """Merit-order dispatch with a storage rule, as actions `[E, A, 1]` (or bins).

        Consumers take no demand response. Storage charges when this hour's expected net load
        (demand profile minus renewable availability) is below the day's median and
        discharges above it, sized to the gap; renewables (free) run fully, and the thermal
        units cover the rest of the expected load, within their ramp limits."""
        c, s, dt = self.config, self.slices, self.config.dt
        t = np.minimum(self.step_index, c.steps_per_day - 1)
        demand = self.demand_now().sum(1)
        available = self.available_now() * c.num_renewable
        net_profile = (
            c.num_consumers * c.consumer_peak * self._demand_shape[None, :]
            - c.num_renewable * c.renewable_capacity * self._solar[None, :] * self.weather[:, None]
        )
        median = np.median(net_profile, axis=1)
        net_now = net_profile[np.arange(self.num_envs), t]
        a = np.zeros((self.num_envs, self.num_agents))
        a[:, s["consumer"]] = 0.0
        a[:, s["renewable"]] = 1.0
        if c.num_storage:
            gap = np.abs(net_now - median) / max(c.num_storage * c.storage_power, 1e-9)
            sign = np.where(net_now > median, 1.0, -1.0)
            a[:, s["storage"]] = (sign * np.clip(gap, 0.0, 1.0))[:, None]
        # Expected storage flow at this step (limited by its state of charge).
        eff = c.storage_efficiency
        act_s = a[:, s["storage"]]
        discharge = np.minimum(np.maximum(act_s, 0) * c.storage_power, self.soc * eff / dt).sum(1)
        room = c.storage_energy - self.soc
        charge = np.minimum(np.maximum(-act_s, 0) * c.storage_power, room / (eff * dt)).sum(1)
        residual = np.maximum(demand + charge - available - discharge, 0.0)
        if c.num_thermal:
            share = residual / c.num_thermal
            a[:, s["thermal"]] = (np.clip(share / c.thermal_capacity, 0, 1) * 2 - 1)[:, None]
        return self._to_actions(a)

    def _to_actions(self, unit: np.ndarray) -> np.ndarray:
        if self.config.action_bins:
            return np.abs(unit[..., None] - self._bin_values).argmin(-1)
        return unit[..., None].astype(np.float32)

    def _record(self, thermal, renewable, discharge, charge, consumption, demand, price) -> None:
        self.history.append(
            {
                "thermal": thermal[0].sum(),
                "renewable": renewable[0].sum(),
                "discharge": discharge[0].sum(),
                "charge": charge[0].sum(),
                "consumption": consumption[0].sum(),
                "demand": demand[0].sum(),
                "price": price[0],
                "soc": self.soc[0].sum()
                / max(self.config.num_storage * self.config.storage_energy, 1e-9),
            }
        )
        if len(self.history) > self.config.steps_per_day:
            self.history = self.history[-self.config.steps_per_day :]

    def render(self, env_index: int = 0) -> np.ndarray:
        """The day so far of copy 0 (the copy viewers step): stacked supply (thermal,
        renewable, discharge) per step, consumption as a red line."""
        if env_index != 0:
            raise ValueError("smart_grid renders copy 0 only (the one a viewer steps)")
        height, bar = 120, 8
        steps = self.config.steps_per_day
        frame = np.full((height, steps * bar + 4, 3), 255, dtype=np.uint8)
        scale = height / (self.total_peak * 1.2)
        c = self.config
        expected = c.num_consumers * c.consumer_peak * self._demand_shape  # the day's forecast
        for k in range(steps):
            y = int(np.clip(height - expected[k] * scale, 0, height - 1))
            frame[y, 2 + k * bar : 2 + (k + 1) * bar - 2] = (170, 170, 170)
        colours = {
            "thermal": (120, 85, 60),
            "renewable": (42, 157, 60),
            "discharge": (29, 114, 243),
        }
        for k, rec in enumerate(self.history):
            x0, top = 2 + k * bar, height
            for key, colour in colours.items():
                size = int(round(rec[key] * scale))
                frame[max(top - size, 0) : top, x0 : x0 + bar - 2] = colour
                top -= size
            y = int(np.clip(height - rec["consumption"] * scale, 0, height - 1))
            frame[y, x0 : x0 + bar] = (230, 57, 70)
        frame[-1, :] = 0
        return frame
