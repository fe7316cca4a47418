"""Tree-search selection and move-choice formulas, as pure functions over one node's edges.

Notation, per node with K legal actions (arrays of shape [K]): N(a) visit counts, W(a) summed
values, Q(a) = W(a) / N(a) mean value (0 while unvisited) from the point of view of the player
to move at the node, P(a) prior probabilities, N_parent the node's own visit count.
"""

from __future__ import annotations

import numpy as np


def mean_values(total_values: np.ndarray, visits: np.ndarray) -> np.ndarray:
    """Q = W / N, with 0 for unvisited edges."""
    return np.divide(total_values, visits, out=np.zeros_like(total_values), where=visits > 0)


def puct_scores(
    q: np.ndarray, prior: np.ndarray, visits: np.ndarray, parent_visits: float, c_puct: float
) -> np.ndarray:
    """AlphaZero's PUCT: Q(a) + c_puct * P(a) * sqrt(N_parent) / (1 + N(a))."""
    return q + c_puct * prior * np.sqrt(parent_visits) / (1.0 + visits)


def ucb1_scores(q: np.ndarray, visits: np.ndarray, parent_visits: float, c: float) -> np.ndarray:
    """UCT's UCB1: Q(a) + c * sqrt(ln N_parent / N(a)); unvisited edges score +inf."""
    safe = np.maximum(visits, 1.0)
    scores = q + c * np.sqrt(np.log(max(parent_visits, 1.0)) / safe)
    return np.where(visits > 0, scores, np.inf)


def mix_dirichlet(prior: np.ndarray, noise: np.ndarray, fraction: float) -> np.ndarray:
    """(1 - fraction) * P + fraction * eta, eta ~ Dir(alpha) drawn by the caller."""
    return (1.0 - fraction) * prior + fraction * noise


def visit_distribution(visits: np.ndarray, temperature: float) -> np.ndarray:
    """pi(a) proportional to N(a)^(1/temperature); temperature 0 puts all mass on the most
    visited actions (shared equally on ties)."""
    visits = np.asarray(visits, dtype=np.float64)
    if temperature == 0:
        best = visits == visits.max()
        return best / best.sum()
    logits = np.log(np.maximum(visits, 1e-300)) / temperature
    logits = np.where(visits > 0, logits, -np.inf)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()
