"""Self-play with an opponent pool (`multi_agent.policies: self_play`).

One policy, `main`, learns; the pool holds frozen snapshots of it (`main_v0` is main as it
started). In every episode one agent, chosen per episode, plays `main` and the others play
one snapshot drawn from the pool. After each training iteration, if main's win rate in that
iteration's episodes reaches `win_rate_threshold`, a snapshot of main joins the pool.
Main's score in an episode is its agent's `win_share` info: 1 for a win, 1/k for a k-way
draw (simultaneous arrivals in the competitive grid world), 0 for a loss.
"""

from __future__ import annotations

import random
from typing import Any

from ray.rllib.core.rl_module.rl_module import RLModuleSpec

MAIN = "main"
WIN_RATE = "self_play_win_rate"
EPISODES = "self_play_episodes"
POOL_SIZE = "self_play_pool_size"


def snapshot_id(index: int) -> str:
    return f"{MAIN}_v{index}"


def pool_of(policy_ids) -> list[str]:
    """The snapshot ids among `policy_ids`, oldest first."""
    return sorted((p for p in policy_ids if p.startswith(f"{MAIN}_v")), key=lambda p: int(p[6:]))


class PoolMapping:
    """Agent -> module for one episode: main on a side drawn from the episode id, every other
    agent on one snapshot drawn from the pool (picklable: it travels to the EnvRunners)."""

    def __init__(self, agents: tuple[str, ...], pool: tuple[str, ...]):
        self.agents, self.pool = tuple(agents), tuple(pool)

    def __call__(self, agent_id: str, episode: Any = None, **kwargs) -> str:
        rng = random.Random(str(getattr(episode, "id_", "")))  # same draw for every agent
        main_index = rng.randrange(len(self.agents))
        opponent = rng.choice(self.pool)
        return MAIN if self.agents.index(agent_id) == main_index else opponent


class LogMainWins:
    """`on_episode_end`: logs main's score in this episode (this iteration's mean)."""

    def __init__(self, agents: tuple[str, ...]):
        self.agents = tuple(agents)

    def __call__(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        main_agents = [a for a in self.agents if episode.module_for(a) == MAIN]
        if not main_agents:
            return
        info = episode.get_infos(-1).get(main_agents[0]) or {}
        score = float(info.get("win_share", 0.0))
        metrics_logger.log_value(WIN_RATE, score, reduce="mean")  # this iteration
        metrics_logger.log_value(EPISODES, 1, reduce="sum")


class GrowPool:
    """`on_algorithm_init`: main_v0 := main. `on_train_result`: snapshot main into the pool
    when its win rate this iteration reaches the threshold (over at least `min_episodes`)."""

    def __init__(self, agents: tuple[str, ...], threshold: float, min_episodes: int):
        self.agents, self.threshold, self.min_episodes = tuple(agents), threshold, min_episodes

    def on_init(self, *, algorithm, **kwargs) -> None:
        for snapshot in pool_of(algorithm.config.policies):
            if snapshot == snapshot_id(0):
                copy_main_into(algorithm, snapshot)

    def on_result(self, *, algorithm, result, **kwargs) -> None:
        runners = result.get("env_runners", {})
        pool = pool_of(algorithm.config.policies)
        win_rate, episodes = runners.get(WIN_RATE), runners.get(EPISODES, 0)
        if win_rate is not None and episodes >= self.min_episodes and win_rate >= self.threshold:
            new = snapshot_id(int(pool[-1][6:]) + 1)
            algorithm.add_module(
                module_id=new,
                module_spec=RLModuleSpec.from_module(algorithm.get_module(MAIN)),
                new_agent_to_module_mapping_fn=PoolMapping(self.agents, (*pool, new)),
                new_should_module_be_updated=[MAIN],
            )
            copy_main_into(algorithm, new)
            pool.append(new)
        result[POOL_SIZE] = len(pool)


def copy_main_into(algorithm, module_id: str) -> None:
    """Sets a snapshot's weights to main's (the learner's copy) on the learner and every
    EnvRunner."""
    weights = algorithm.learner_group.get_weights(module_ids=[MAIN])[MAIN]
    algorithm.learner_group.set_weights({module_id: weights})
    algorithm.env_runner_group.sync_weights(
        from_worker_or_learner_group=algorithm.learner_group,
        policies=[module_id],
        inference_only=True,
    )
