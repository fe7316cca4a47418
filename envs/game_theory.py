"""Solution concepts of normal-form games, for judging what agents learn in matrix games.

A game is a payoff tensor `P` of shape `[n_1, ..., n_N, N]`: `P[a_1, ..., a_N, i]` is player
i's payoff when player j plays action `a_j`. Every function works for any number of players
except `mixed_equilibrium_2x2`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

Profile = tuple[int, ...]


def check_payoffs(payoffs) -> np.ndarray:
    """The payoff tensor as float64, with a message naming the expected shape if it is wrong."""
    p = np.asarray(payoffs, dtype=np.float64)
    players = p.ndim - 1
    if players < 1 or p.shape[-1] != players or min(p.shape[:-1]) < 1:
        raise ValueError(
            f"payoffs must have shape [n_1, ..., n_N, N] (one payoff per player for every "
            f"joint action), got {p.shape}"
        )
    return p


def num_players(payoffs: np.ndarray) -> int:
    return payoffs.ndim - 1


def profiles(payoffs: np.ndarray) -> list[Profile]:
    """Every joint action, in row-major order."""
    return list(itertools.product(*(range(n) for n in payoffs.shape[:-1])))


def best_response_mask(payoffs: np.ndarray) -> np.ndarray:
    """`[n_1, ..., n_N, N]` bool: player i's action in the profile is a best response to the
    others' actions in it."""
    p = check_payoffs(payoffs)
    mask = np.zeros(p.shape, dtype=bool)
    for i in range(num_players(p)):
        own = p[..., i]
        mask[..., i] = np.isclose(own, own.max(axis=i, keepdims=True))
    return mask


def best_responses(payoffs: np.ndarray, player: int, others: Sequence[int]) -> list[int]:
    """Player's best actions against the others' pure actions (`others` in player order,
    without the player)."""
    p = check_payoffs(payoffs)
    index = list(others)
    index.insert(player, slice(None))
    values = p[tuple(index)][:, player]
    return [int(a) for a in np.flatnonzero(np.isclose(values, values.max()))]


def best_response_to_mixed(payoffs: np.ndarray, player: int, strategies) -> list[int]:
    """Player's best actions against the others' mixed strategies (a probability vector per
    player; the player's own entry is ignored)."""
    p = check_payoffs(payoffs)
    values = p[..., player]
    for j in reversed(range(num_players(p))):
        if j != player:
            values = np.tensordot(values, np.asarray(strategies[j], dtype=np.float64), ([j], [0]))
    return [int(a) for a in np.flatnonzero(np.isclose(values, values.max()))]


def pure_nash_equilibria(payoffs: np.ndarray) -> list[Profile]:
    """Profiles where no player gains by deviating alone."""
    mask = best_response_mask(payoffs).all(axis=-1)
    return [tuple(int(a) for a in idx) for idx in np.argwhere(mask)]


def expected_payoffs(payoffs: np.ndarray, strategies) -> np.ndarray:
    """`[N]` expected payoffs when every player mixes independently."""
    p = check_payoffs(payoffs)
    values = p
    for j in reversed(range(num_players(p))):
        values = np.tensordot(values, np.asarray(strategies[j], dtype=np.float64), ([j], [0]))
    return values


def mixed_equilibrium_2x2(payoffs: np.ndarray) -> tuple[float, float] | None:
    """The completely mixed equilibrium of a 2x2 game as (P(row plays 0), P(column plays 0)),
    from each player's indifference condition; None when the game has none."""
    p = check_payoffs(payoffs)
    if p.shape != (2, 2, 2):
        raise ValueError(f"mixed_equilibrium_2x2 takes a 2x2 game, got payoffs of shape {p.shape}")
    a, b = p[..., 0], p[..., 1]
    # Row mixes with p so the column player is indifferent between its two actions.
    den_row = b[0, 0] - b[1, 0] - b[0, 1] + b[1, 1]
    den_col = a[0, 0] - a[0, 1] - a[1, 0] + a[1, 1]
    if np.isclose(den_row, 0) or np.isclose(den_col, 0):
        return None
    row = (b[1, 1] - b[1, 0]) / den_row
    col = (a[1, 1] - a[0, 1]) / den_col
    if not (0 < row < 1 and 0 < col < 1):
        return None
    return float(row), float(col)


def pareto_optimal_mask(payoffs: np.ndarray) -> np.ndarray:
    """`[n_1, ..., n_N]` bool: no other profile is at least as good for every player and
    better for one."""
    p = check_payoffs(payoffs)
    flat = p.reshape(-1, num_players(p))
    geq = (flat[None, :, :] >= flat[:, None, :] - 1e-12).all(axis=-1)  # [x, y]: y >= x
    gt = (flat[None, :, :] > flat[:, None, :] + 1e-12).any(axis=-1)
    dominated = (geq & gt).any(axis=1)
    return ~dominated.reshape(p.shape[:-1])


def pareto_optimal(payoffs: np.ndarray) -> list[Profile]:
    return [tuple(int(a) for a in idx) for idx in np.argwhere(pareto_optimal_mask(payoffs))]


def social_optima(payoffs: np.ndarray) -> list[Profile]:
    """Profiles with the largest sum of payoffs (utilitarian welfare)."""
    total = check_payoffs(payoffs).sum(axis=-1)
    mask = np.isclose(total, total.max())
    return [tuple(int(a) for a in idx) for idx in np.argwhere(mask)]
