"""The two-step cooperative game of the QMIX paper (Rashid et al. 2018, section 6.1), as
RLlib's example env has it.

Two agents, two actions each, two steps. In state 1 both act, and agent 0's action alone
chooses the next state: 0 -> 2A, 1 -> 2B (reward 0). In 2A every joint action pays 7; in
2B the joint action (a0, a1) pays `payoffs_2b[a0][a1]` (default [[0, 1], [1, 8]]). The
episode then terminates. The optimum is 8 (go to 2B and both play 1); a decomposition that
can only add per-agent values (VDN) settles for 7.

Observation of each agent: the state one-hot (1, 2A, 2B) and its own id one-hot. Reward: the
team's payoff split equally (each agent gets payoff / 2), so an episode's return summed over
agents is the payoff. `state()`: the state one-hot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv
from envs.schema import check

NUM_AGENTS, NUM_STATES = 2, 3
FIRST, STATE_2A, STATE_2B = 0, 1, 2


@dataclass(frozen=True)
class TwoStepGameConfig:
    payoff_2a: float = 7.0
    """What every joint action pays in state 2A."""
    payoffs_2b: list[list[float]] = field(default_factory=lambda: [[0.0, 1.0], [1.0, 8.0]])
    """payoffs_2b[a0][a1] in state 2B."""

    def __post_init__(self) -> None:
        shape = np.shape(self.payoffs_2b)
        check(shape == (2, 2), f"payoffs_2b must be 2 x 2 (agent 0's action first), got {shape}")


class TwoStepGame(BatchedEnv):
    name = "two_step_game"
    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}
    config_class = TwoStepGameConfig

    def __init__(
        self, num_envs: int = 1, config: TwoStepGameConfig | None = None, render_mode=None
    ):
        super().__init__(num_envs, render_mode)
        self.config = config or TwoStepGameConfig()
        self.possible_agents = tuple(f"agent_{i}" for i in range(NUM_AGENTS))
        obs_space = gym.spaces.Box(0.0, 1.0, (NUM_STATES + NUM_AGENTS,), dtype=np.float32)
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.possible_agents}
        self.game_state = np.zeros(num_envs, dtype=np.int64)
        self.payoffs_2b = np.asarray(self.config.payoffs_2b, dtype=np.float32)

    def _reset_copies(self, mask: np.ndarray) -> None:
        self.game_state[mask] = FIRST

    def _step(self, actions: np.ndarray):
        state = self.game_state
        payoff = np.where(
            state == STATE_2A,
            self.config.payoff_2a,
            self.payoffs_2b[actions[:, 0], actions[:, 1]],
        ).astype(np.float32)
        payoff = np.where(state == FIRST, 0.0, payoff)
        ended = state != FIRST
        self.game_state = np.where(ended, state, np.where(actions[:, 0] == 0, STATE_2A, STATE_2B))
        rewards = np.repeat(payoff[:, None] / NUM_AGENTS, NUM_AGENTS, axis=1).astype(np.float32)
        terminated = np.repeat(ended[:, None], NUM_AGENTS, axis=1)
        infos = {"payoff": payoff, "chose_2b": (state == FIRST) & (actions[:, 0] == 1)}
        return rewards, terminated, np.zeros_like(terminated), infos

    def _observe(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, NUM_AGENTS, NUM_STATES + NUM_AGENTS), dtype=np.float32)
        obs[np.arange(self.num_envs), :, self.game_state] = 1.0
        obs[:, np.arange(NUM_AGENTS), NUM_STATES + np.arange(NUM_AGENTS)] = 1.0
        return obs

    def state(self) -> np.ndarray:
        return np.eye(NUM_STATES, dtype=np.float32)[self.game_state]

    @property
    def state_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(0.0, 1.0, (NUM_STATES,), dtype=np.float32)

    def render(self, env_index: int = 0) -> np.ndarray:
        """The three states as boxes left to right (1, 2A, 2B), the current one lit."""
        image = np.full((48, 3 * 48, 3), 230, dtype=np.uint8)
        for i, colour in enumerate(((90, 90, 200), (90, 170, 90), (200, 140, 60))):
            box = image[8:40, i * 48 + 8 : i * 48 + 40]
            box[:] = colour if i == self.game_state[env_index] else (180, 180, 180)
        return image
