"""Third-party PettingZoo parallel envs behind the batched interface, registered as `pz/...`.

- `pz/simple_spread`: MPE's cooperative navigation from the `mpe2` package (MPE left
  PettingZoo), discrete actions.
- `pz/pistonball`: PettingZoo Butterfly's pistons, through the SuperSuit wrappers of
  `env.wrappers`: colour reduction to one channel, resize, frame stack, float32 and
  normalisation to [0, 1].

Both are user-style envs (`envs.foreign.CopiesBatch`) with typed configs of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envs.foreign import CopiesBatch
from envs.plugins import apply_wrappers, import_module, parse_wrappers
from envs.schema import check


@dataclass(frozen=True)
class SimpleSpreadConfig:
    """mpe2 simple_spread_v3: N agents cover N landmarks, penalised for collisions."""

    N: int = 3
    local_ratio: float = 0.5
    max_cycles: int = 25
    continuous_actions: bool = False
    """mpe2's continuous actions: Box(0, 1, (5,)) forces (no-op, left, right, down, up)."""

    def __post_init__(self) -> None:
        check(self.N >= 2, f"N must be >= 2, got {self.N}")
        check(0 <= self.local_ratio <= 1, "local_ratio must be in [0, 1]")
        check(self.max_cycles >= 1, "max_cycles must be >= 1")

    def make(self, render_mode: str | None):
        simple_spread_v3 = import_module("mpe2.simple_spread_v3", "pz/simple_spread")
        return simple_spread_v3.parallel_env(
            N=self.N,
            local_ratio=self.local_ratio,
            max_cycles=self.max_cycles,
            continuous_actions=self.continuous_actions,
            render_mode=render_mode,
        )


@dataclass(frozen=True)
class PistonballConfig:
    """Butterfly pistonball_v6 with discrete actions (down, stay, up), through SuperSuit."""

    n_pistons: int = 20
    max_cycles: int = 125
    resize: int = 32
    """Observations are resized to resize x resize pixels."""
    frame_stack: int = 3

    def __post_init__(self) -> None:
        check(self.n_pistons >= 2, f"n_pistons must be >= 2, got {self.n_pistons}")
        check(self.max_cycles >= 1, "max_cycles must be >= 1")
        check(8 <= self.resize <= 128, f"resize must be in 8..128, got {self.resize}")
        check(self.frame_stack >= 1, "frame_stack must be >= 1")

    def make(self, render_mode: str | None):
        from pettingzoo.butterfly import pistonball_v6

        env = pistonball_v6.parallel_env(
            n_pistons=self.n_pistons,
            continuous=False,
            max_cycles=self.max_cycles,
            render_mode=render_mode,
        )
        wrappers = [
            {"color_reduction_v0": {"mode": "B"}},
            {"resize_v1": {"x_size": self.resize, "y_size": self.resize}},
            {"frame_stack_v1": {"stack_size": self.frame_stack}},
            {"dtype_v0": {"dtype": "float32"}},
            {"normalize_obs_v0": {"env_min": 0, "env_max": 1}},
        ]
        return apply_wrappers(env, parse_wrappers(wrappers))


class PettingZooBatch(CopiesBatch):
    """`num_envs` copies of the PettingZoo parallel env `config.make` builds."""

    config_class: type

    def __init__(self, num_envs: int = 1, config: Any = None, render_mode: str | None = None):
        self.config = config or self.config_class()
        super().__init__(self.config.make, self.name, num_envs, render_mode)


class SimpleSpread(PettingZooBatch):
    """mpe2 simple_spread_v3 (cooperative navigation), batched."""

    name = "pz/simple_spread"
    config_class = SimpleSpreadConfig


class Pistonball(PettingZooBatch):
    """PettingZoo Butterfly pistonball_v6 through SuperSuit, batched."""

    name = "pz/pistonball"
    config_class = PistonballConfig
