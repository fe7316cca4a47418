"""Resource allocation: N agents share M divisible resources with capacities.

- Every episode each agent draws private utility weights `w[i, m]` (uniform in [0.05, 1],
  normalised to sum 1 over resources); they are part of its own observation only.
- Utility of a bundle: `u_i(x) = sum_m w[i, m] * log(1 + x[i, m])`: concave, so how the
  resources are split matters (a linear utility would make "request everything" optimal).
- Each round every agent requests a fraction in [0, 1] of every resource's capacity.
  A resource asked for more than its capacity is rationed proportionally to the requests;
  otherwise everyone gets what it asked for (unrequested capacity is wasted).
- `reward`: `individual` (own utility), or a welfare objective everyone shares:
  `utilitarian` (sum of utilities), `egalitarian` (minimum), `nash` (sum of logs of utilities,
  utilities floored at 1e-6).
- An episode is `num_rounds` rounds with the same weights; it terminates after the last.
- Observation of agent i: own weights (M), capacities / largest capacity (M), own last
  allocation / capacity (M), last total request / capacity (M, in [0, N]), elapsed fraction.
- Infos per copy and round: `utilitarian`, `egalitarian`, `nash` welfare, `jain` fairness
  index of the utilities, `optimal_utilitarian` (exact, by water-filling per resource) and
  `welfare_fraction` = utilitarian / optimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv
from envs.schema import check

UTILITY_FLOOR = 1e-6


@dataclass(frozen=True)
class ResourceAllocationConfig:
    """Resource allocation parameters (see the module docstring)."""

    num_agents: int = 4
    num_resources: int = 3
    capacities: float | list[float] = 10.0
    """One capacity for every resource, or one per resource."""
    num_rounds: int = 4
    reward: Literal["individual", "utilitarian", "egalitarian", "nash"] = "utilitarian"

    def __post_init__(self) -> None:
        check(2 <= self.num_agents <= 32, f"num_agents must be in 2..32, got {self.num_agents}")
        check(self.num_resources >= 1, f"num_resources must be >= 1, got {self.num_resources}")
        check(self.num_rounds >= 1, f"num_rounds must be >= 1, got {self.num_rounds}")
        caps = self.capacity_array()
        check(
            caps.shape == (self.num_resources,) and bool(np.all(caps > 0)),
            f"capacities must be one positive number or {self.num_resources} of them, "
            f"got {self.capacities}",
        )

    def capacity_array(self) -> np.ndarray:
        caps = np.asarray(self.capacities, dtype=np.float64)
        return np.full(self.num_resources, float(caps)) if caps.ndim == 0 else caps


# ---- allocation math (pure) ----------------------------------------------------------------


def ration(requests: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """Allocations `[..., N, M]` for requests `[..., N, M]`: proportional rationing of every
    over-subscribed resource, requests granted in full elsewhere."""
    total = requests.sum(axis=-2, keepdims=True)
    scale = np.where(total > capacities, capacities / np.maximum(total, 1e-12), 1.0)
    return requests * scale


def utilities(weights: np.ndarray, allocation: np.ndarray) -> np.ndarray:
    """`[..., N]` utilities `sum_m w * log(1 + x)`."""
    return (weights * np.log1p(allocation)).sum(axis=-1)


def water_filling(weights: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """The allocation `[..., N, M]` maximising the sum of utilities.

    The problem separates by resource: maximise `sum_i w_i log(1 + x_i)` with
    `sum_i x_i = C`. KKT: `x_i = max(0, w_i / lam - 1)`; with the k largest weights active,
    `lam = (sum of those k weights) / (C + k)`, and the right k is the largest one whose
    smallest active weight exceeds its `lam`.
    """
    w = np.moveaxis(weights, -2, -1)  # [..., M, N]
    order = np.argsort(-w, axis=-1)
    sorted_w = np.take_along_axis(w, order, axis=-1)
    k = np.arange(1, w.shape[-1] + 1)
    caps = np.asarray(capacities)[..., :, None]
    lam = np.cumsum(sorted_w, axis=-1) / (caps + k)
    active = sorted_w > lam  # a prefix
    count = active.sum(axis=-1, keepdims=True)  # >= 1: the largest weight always qualifies
    best_lam = np.take_along_axis(lam, count - 1, axis=-1)
    x = np.maximum(0.0, w / best_lam - 1.0)
    return np.moveaxis(x, -1, -2)


def welfare(utils: np.ndarray) -> dict[str, np.ndarray]:
    """Utilitarian, egalitarian and Nash welfare and Jain's index of `[..., N]` utilities."""
    total = utils.sum(axis=-1)
    squares = (utils**2).sum(axis=-1)
    n = utils.shape[-1]
    return {
        "utilitarian": total,
        "egalitarian": utils.min(axis=-1),
        "nash": np.log(np.maximum(utils, UTILITY_FLOOR)).sum(axis=-1),
        "jain": np.where(squares > 0, total**2 / (n * np.maximum(squares, 1e-12)), 1.0),
    }


# ---- environment ---------------------------------------------------------------------------


class ResourceAllocation(BatchedEnv):
    """Batched resource allocation; see the module docstring."""

    name = "resource_allocation"
    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}
    config_class = ResourceAllocationConfig

    def __init__(
        self,
        num_envs: int = 1,
        config: ResourceAllocationConfig | None = None,
        render_mode: str | None = None,
    ):
        super().__init__(num_envs, render_mode)
        self.config = config = config or ResourceAllocationConfig()
        n, m = config.num_agents, config.num_resources
        self.capacities = config.capacity_array()
        self.possible_agents = tuple(f"agent_{i}" for i in range(n))
        low = np.zeros(4 * m + 1, dtype=np.float32)
        high = np.concatenate([np.ones(3 * m), np.full(m, float(n)), [1.0]]).astype(np.float32)
        obs_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        act_space = gym.spaces.Box(0.0, 1.0, (m,), dtype=np.float32)
        self.action_spaces = {a: act_space for a in self.possible_agents}
        self._caps_obs = (self.capacities / self.capacities.max()).astype(np.float32)
        self.weights = np.zeros((num_envs, n, m))
        self.allocation = np.zeros((num_envs, n, m))
        self.total_request = np.zeros((num_envs, m))
        self.optimal = np.zeros((num_envs, n, m))
        self.optimal_utilitarian = np.zeros(num_envs)
        self.rounds = np.zeros(num_envs, dtype=np.int64)

    def _reset_copies(self, mask: np.ndarray) -> None:
        n, m = self.config.num_agents, self.config.num_resources
        for e in np.flatnonzero(mask):
            w = self._rngs[e].uniform(0.05, 1.0, (n, m))
            self.weights[e] = w / w.sum(axis=1, keepdims=True)
        self.allocation[mask] = 0.0
        self.total_request[mask] = 0.0
        self.rounds[mask] = 0
        self.optimal[mask] = water_filling(self.weights[mask], self.capacities)
        self.optimal_utilitarian[mask] = utilities(self.weights[mask], self.optimal[mask]).sum(-1)

    def _step(self, actions: np.ndarray):
        requests = actions.astype(np.float64) * self.capacities
        self.allocation = ration(requests, self.capacities)
        self.total_request = requests.sum(axis=1)
        utils = utilities(self.weights, self.allocation)
        measures = welfare(utils)
        n = self.config.num_agents
        if self.config.reward == "individual":
            rewards = utils
        else:
            rewards = np.repeat(measures[self.config.reward][:, None], n, axis=1)
        self.rounds += 1
        over = self.rounds >= self.config.num_rounds
        terminated = np.repeat(over[:, None], n, axis=1)
        infos = {k: v.astype(np.float32) for k, v in measures.items()}
        infos["optimal_utilitarian"] = self.optimal_utilitarian.astype(np.float32)
        infos["welfare_fraction"] = (measures["utilitarian"] / self.optimal_utilitarian).astype(
            np.float32
        )
        return rewards.astype(np.float32), terminated, np.zeros_like(terminated), infos

    def _observe(self) -> np.ndarray:
        e, n = self.num_envs, self.config.num_agents
        caps = self.capacities
        parts = [
            self.weights,
            np.broadcast_to(self._caps_obs, self.weights.shape),
            self.allocation / caps,
            np.broadcast_to((self.total_request / caps)[:, None, :], self.weights.shape),
            np.broadcast_to((self.rounds / self.config.num_rounds)[:, None, None], (e, n, 1)),
        ]
        return np.concatenate(parts, axis=-1).astype(np.float32)

    # ---- scripted baselines ---------------------------------------------------------------

    def baseline_actions(self, name: str) -> np.ndarray:
        """`[E, N, M]` actions of a scripted allocator: `equal` (capacity / N each),
        `proportional` (shares proportional to the weights, which needs everyone's weights)
        or `optimal` (the water-filling allocation)."""
        n = self.config.num_agents
        if name == "equal":
            return np.full(self.weights.shape, 1.0 / n, dtype=np.float32)
        if name == "proportional":
            return (self.weights / self.weights.sum(axis=1, keepdims=True)).astype(np.float32)
        if name == "optimal":
            return np.clip(self.optimal / self.capacities, 0.0, 1.0).astype(np.float32)
        raise ValueError(f"unknown baseline {name!r}; use equal, proportional or optimal")

    def render(self, env_index: int = 0) -> np.ndarray:
        """Per resource, stacked bars of the agents' last allocations (left) beside the
        optimum (right), in the agents' colours; the frame's height is the capacity."""
        from envs.grid_world import AGENT_COLOURS

        m, height, bar = self.config.num_resources, 160, 24
        frame = np.full((height, m * (2 * bar + 16) + 8, 3), 255, dtype=np.uint8)
        for r in range(m):
            for col, alloc in enumerate((self.allocation[env_index], self.optimal[env_index])):
                x0 = 8 + r * (2 * bar + 16) + col * bar
                frame[:, x0 : x0 + bar - 2] = 235
                top = height
                for i, amount in enumerate(alloc[:, r] / self.capacities[r]):
                    size = int(round(amount * height))
                    colour = AGENT_COLOURS[i % len(AGENT_COLOURS)]
                    frame[max(top - size, 0) : top, x0 : x0 + bar - 2] = colour
                    top -= size
        return frame
