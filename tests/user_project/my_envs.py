"""A user's own envs, outside marl_ray and outside `envs/`: the tests copy this folder to a
temporary directory on the Ray workers' path, as a user's project folder would be."""

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import AgentSelector


class Rendezvous(ParallelEnv):
    """Two agents on a line of `size` cells meet; the scout also sees the target."""

    metadata = {"name": "rendezvous_v0", "render_modes": []}

    def __init__(self, size=5, max_steps=20, render_mode=None):
        self.size, self.max_steps = size, max_steps
        self.possible_agents = ["scout", "runner"]
        self.render_mode = render_mode
        self.observation_spaces = {
            a: gym.spaces.Box(0.0, 1.0, (n,), dtype=np.float32)
            for a, n in zip(self.possible_agents, (3, 2), strict=True)
        }
        self.action_spaces = {a: gym.spaces.Discrete(3) for a in self.possible_agents}

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]  # left, stay, right

    def _obs(self):
        s = self.size - 1
        pos = self.pos / s
        return {
            "scout": np.array([pos[0], pos[1], self.target / s], dtype=np.float32),
            "runner": np.array([pos[1], pos[0]], dtype=np.float32),
        }

    def reset(self, seed=None, options=None):
        self.rng = (
            np.random.default_rng(seed)
            if seed is not None or not hasattr(self, "rng")
            else self.rng
        )
        self.agents = list(self.possible_agents)
        self.pos = self.rng.integers(0, self.size, 2)
        self.target = int(self.rng.integers(0, self.size))
        self.t = 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions):
        for i, a in enumerate(self.possible_agents):
            self.pos[i] = np.clip(self.pos[i] + int(actions[a]) - 1, 0, self.size - 1)
        self.t += 1
        met = bool(self.pos[0] == self.pos[1])
        reward = 1.0 if met else -0.05
        obs = self._obs()
        rewards = {a: reward for a in self.agents}
        term = {a: met for a in self.agents}
        trunc = {a: self.t >= self.max_steps and not met for a in self.agents}
        if met or self.t >= self.max_steps:
            self.agents = []
        return obs, rewards, term, trunc, {a: {} for a in obs}


class RaceToTen(AECEnv):
    """Two players take turns adding 1 or 2 to a counter; who reaches `goal` wins."""

    metadata = {"name": "race_to_ten_v0", "render_modes": [], "is_parallelizable": False}

    def __init__(self, goal=10, render_mode=None):
        super().__init__()
        self.goal = goal
        self.possible_agents = ["first", "second"]
        self.render_mode = render_mode
        observation = gym.spaces.Dict(
            {
                "observation": gym.spaces.Box(0.0, 1.0, (2,), dtype=np.float32),
                "action_mask": gym.spaces.Box(0, 1, (2,), dtype=np.int8),
            }
        )
        self.observation_spaces = {a: observation for a in self.possible_agents}
        self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.possible_agents}

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]  # add 1, add 2

    def observe(self, agent):
        mask = np.array([1, int(self.count <= self.goal - 2)], dtype=np.int8)
        mine = float(agent == self.agent_selection)
        return {
            "observation": np.array([self.count / self.goal, mine], dtype=np.float32),
            "action_mask": mask,
        }

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.count = 0
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.count += int(action) + 1
        self.rewards = {a: 0.0 for a in self.agents}
        if self.count >= self.goal:
            for a in self.agents:
                self.rewards[a] = 1.0 if a == agent else -1.0
                self.terminations[a] = True
        self._accumulate_rewards()
        self.agent_selection = self._selector.next()


class TwoArms(gym.Env):
    """A Gymnasium env with one entry per agent in Tuple spaces and a reward list (the
    lbforaging / rware convention): two agents each pull one of two arms for `rounds` steps;
    pulling different arms pays both."""

    def __init__(self, rounds=5):
        self.rounds = rounds
        box = gym.spaces.Box(0.0, 1.0, (2,), dtype=np.float32)
        self.observation_space = gym.spaces.Tuple((box, box))
        self.action_space = gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Discrete(2)))

    def _obs(self):
        o = np.array([self.t / self.rounds, self.last], dtype=np.float32)
        return (o, o.copy())

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.last = 0, float(self.np_random.integers(2))
        return self._obs(), {}

    def step(self, actions):
        self.t += 1
        paid = float(actions[0] != actions[1])
        self.last = paid
        return self._obs(), [paid, paid], False, self.t >= self.rounds, {}


def make_rllib_env(config=None):
    """An RLlib MultiAgentEnv factory (RLlib's convention: one `config` mapping)."""
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    class Echo(MultiAgentEnv):
        """Each agent is paid for repeating the bit it observes."""

        def __init__(self, config=None):
            super().__init__()
            self.length = (config or {}).get("length", 6)
            self.possible_agents = ["a", "b"]
            self.agents = list(self.possible_agents)
            box = gym.spaces.Box(0.0, 1.0, (1,), dtype=np.float32)
            self.observation_spaces = {a: box for a in self.possible_agents}
            self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.possible_agents}

        def _obs(self):
            self.bits = {a: int(self.rng.integers(2)) for a in self.agents}
            return {a: np.array([b], dtype=np.float32) for a, b in self.bits.items()}

        def reset(self, *, seed=None, options=None):
            self.rng = (
                np.random.default_rng(seed)
                if seed is not None
                else getattr(self, "rng", np.random.default_rng())
            )
            self.t = 0
            return self._obs(), {}

        def step(self, action_dict):
            self.t += 1
            rewards = {a: float(action_dict[a] == self.bits[a]) for a in self.agents}
            done = self.t >= self.length
            return self._obs(), rewards, {"__all__": False}, {"__all__": done}, {}

    return Echo(config)


NOT_AN_ENV = 3


# ---- broken envs: what `marl-ray check-env` must catch ---------------------------------


class OutOfSpace(Rendezvous):
    """Declares observations in [0, 1] but the runner sees positions unscaled."""

    def _obs(self):
        obs = super()._obs()
        obs["runner"] = self.pos.astype(np.float32)[::-1].copy()
        return obs


class UnseededReset(Rendezvous):
    """Ignores the seed: start positions come from the global numpy generator."""

    def reset(self, seed=None, options=None):
        obs, infos = super().reset(seed=seed, options=options)
        self.pos = np.random.randint(0, self.size, 2)
        return self._obs(), infos


class GhostAgent(Rendezvous):
    """The runner drops out after one step but keeps getting observations."""

    def step(self, actions):
        actions = {"runner": 1, **actions}  # once gone, the runner stays put
        obs, rewards, term, trunc, infos = super().step(actions)
        if self.t == 1 and self.agents:
            term["runner"] = True
            self.agents = ["scout"]
        return obs, rewards, term, trunc, infos  # `obs` still holds the runner
