"""What RLlib modules see of one copy besides the agent's own observation.

- `own`: the observation as the agent's space holds it.
- `global_state`: `{"observations": own, "state": core.state()}` for centralised critics.
- `peers`: `{"observations": own, "peers": the other agents' observations [A - 1, D] (in index
  order starting after the agent), "peers_mask": 1 for peers still in the episode}`, for
  modules that communicate (attention over the other agents).

Views only pair existing data with the observation; the dynamics stay in the core.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.core import BatchedEnv, flat_bounds
from envs.schema import ConfigError

VIEWS = ("own", "global_state", "peers")


def view_spaces(core: BatchedEnv, view: str) -> dict[str, gym.Space]:
    spaces = dict(core.observation_spaces)
    if view == "own":
        return spaces
    if view == "global_state":
        return {
            a: gym.spaces.Dict({"observations": s, "state": core.state_space})
            for a, s in spaces.items()
        }
    if view == "peers":
        if len({len(flat_bounds(s)[0]) for s in spaces.values()}) > 1:
            raise ConfigError(
                f"{core.name}: the peers view (attention_comm) needs observations of one size "
                "for every agent; this env's agents differ"
            )
        low, high = flat_bounds(core.observation_spaces[core.possible_agents[0]])
        shape = (core.num_agents - 1, len(low))
        peers = gym.spaces.Box(
            np.broadcast_to(low, shape), np.broadcast_to(high, shape), dtype=np.float32
        )
        mask = gym.spaces.Box(0, 1, (core.num_agents - 1,), dtype=np.int8)
        return {
            a: gym.spaces.Dict({"observations": s, "peers": peers, "peers_mask": mask})
            for a, s in spaces.items()
        }
    raise ValueError(f"unknown observation view {view!r}; allowed: {', '.join(VIEWS)}")


def view_observations(
    core: BatchedEnv,
    view: str,
    obs: dict[str, Any],
    slot_of: dict[str, int],
    present: np.ndarray,
) -> dict[str, Any]:
    """`obs` (agent -> own observation) extended by `view`; `slot_of` maps agents to the
    core's agent axis, `present` (`[A]` bool) marks the slots still in the episode."""
    if view == "own":
        return obs
    if view == "global_state":
        state = core.state()[0]
        return {a: {"observations": o, "state": state} for a, o in obs.items()}
    rows = core.current_observations()[0]
    order = peer_order(core.num_agents)
    out = {}
    for a, o in obs.items():
        peers = order[slot_of[a]]
        out[a] = {
            "observations": o,
            "peers": rows[peers],
            "peers_mask": present[peers].astype(np.int8),
        }
    return out


def view_rows(core: BatchedEnv, view: str, obs: np.ndarray, cols: list[int]) -> Any:
    """The batched form of `view_observations` for agents `cols` of every copy (rows
    copy-major), with every agent present: what evaluation feeds a module per step."""
    e, k, n = obs.shape[0], len(cols), core.num_agents
    own = core.observation_view(obs[:, cols].reshape(e * k, *obs.shape[2:]), cols[0])
    if view == "own":
        return own
    if view == "global_state":
        return {"observations": own, "state": np.repeat(core.state(), k, axis=0)}
    peers = obs[:, peer_order(n)[cols]].reshape(e * k, n - 1, -1)
    mask = np.ones((e * k, n - 1), dtype=np.int8)
    return {"observations": own, "peers": peers, "peers_mask": mask}


def peer_order(n: int) -> np.ndarray:
    """`[n, n - 1]`: agent i's peers in index order starting after i."""
    return np.array([[(i + j) % n for j in range(1, n)] for i in range(n)], dtype=np.int64)


def rows_with_peers(obs: np.ndarray, present: np.ndarray, cols: list[int]) -> np.ndarray:
    """The flat form of the `peers` view for our own networks: for agents `cols` of every
    copy (rows copy-major) `[own row D | peers' rows (A - 1) x D | peers' presence A - 1]`
    from core rows `obs` `[E, A, D]` and `present` `[E, A]`, peers in `peer_order`."""
    e, n, d = obs.shape
    order = peer_order(n)[cols]  # [k, n - 1]
    own = obs[:, cols].reshape(e * len(cols), d)
    peers = obs[:, order].reshape(e * len(cols), (n - 1) * d)
    mask = present[:, order].reshape(e * len(cols), n - 1).astype(obs.dtype)
    return np.concatenate([own, peers, mask], axis=1)
