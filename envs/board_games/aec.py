"""PettingZoo AEC view of a board game: players alternate, the mover's observation carries an
action mask, the winner gets +1 and the loser -1 when the game ends. No rules live here."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from envs.board_games.game import NUM_PLANES, Game

AGENTS = ("player_0", "player_1")


class BoardGameAEC(AECEnv):
    metadata = {"render_modes": ["ansi", "rgb_array"], "is_parallelizable": False}

    def __init__(self, game: Game, render_mode: str | None = None):
        super().__init__()
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode {render_mode!r} is not supported; use None, 'ansi' or 'rgb_array'"
            )
        self.game = game
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "name": game.name}
        self.possible_agents = list(AGENTS)
        shape = (NUM_PLANES, game.rows, game.columns)
        obs_space = spaces.Dict(
            {
                "observation": spaces.Box(0.0, 1.0, shape, np.float32),
                "action_mask": spaces.Box(0, 1, (game.num_actions,), np.int8),
            }
        )
        self.observation_spaces = {a: obs_space for a in AGENTS}
        self.action_spaces = {a: spaces.Discrete(game.num_actions) for a in AGENTS}
        self.state_ = game.initial_state()

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def reset(self, seed=None, options=None):
        self.state_ = self.game.initial_state()
        self.agents = list(AGENTS)
        self.rewards = dict.fromkeys(AGENTS, 0.0)
        self._cumulative_rewards = dict.fromkeys(AGENTS, 0.0)
        self.terminations = dict.fromkeys(AGENTS, False)
        self.truncations = dict.fromkeys(AGENTS, False)
        self.infos = {a: {} for a in AGENTS}
        self.agent_selection = AGENTS[0]

    def observe(self, agent):
        planes = self.game.encode(self.state_)
        if AGENTS.index(agent) != self.state_.player:  # the other player's point of view
            planes = np.stack([planes[1], planes[0], 1.0 - planes[2]])
        mask = np.zeros(self.game.num_actions, dtype=np.int8)
        if agent == self.agent_selection and not self.terminations[agent]:
            mask[self.game.legal_actions(self.state_)] = 1
        return {"observation": planes, "action_mask": mask}

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            return self._was_dead_step(action)
        self._cumulative_rewards[agent] = 0.0
        self.state_ = self.game.apply(self.state_, int(action))
        self._clear_rewards()
        outcome = self.game.outcome(self.state_)
        if outcome is not None:
            if outcome != 0:
                self.rewards[agent] = 1.0
                self.rewards[AGENTS[1 - AGENTS.index(agent)]] = -1.0
            self.terminations = dict.fromkeys(AGENTS, True)
        self._accumulate_rewards()
        self.agent_selection = AGENTS[self.state_.player]

    def render(self):
        if self.render_mode == "ansi":
            return self.game.render_text(self.state_)
        if self.render_mode == "rgb_array":
            return self.game.picture(self.state_)
        return None

    def close(self):
        pass
