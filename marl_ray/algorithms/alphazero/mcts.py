"""Monte Carlo tree search behind an `Evaluator`, with batched leaf evaluation.

Edge statistics live in the parent node (`visits`, `values`, `prior` over its legal actions),
values are from the point of view of the player to move at that node, so selection maximises
the parent's own Q. A search collects up to `leaf_batch` leaves per tree, marking each path
with a virtual loss so that the next descent spreads out, and evaluates the leaves of every
tree being searched in one evaluator call. Dirichlet noise is mixed into the root's prior only,
kept apart from the clean prior so that a reused subtree's root is noised afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from envs.board_games import Game, State
from envs.schema import check
from marl_ray.algorithms.core.puct import (
    mean_values,
    mix_dirichlet,
    puct_scores,
    ucb1_scores,
    visit_distribution,
)


class Evaluator(Protocol):
    def __call__(self, states: list[State]) -> tuple[np.ndarray, np.ndarray]:
        """Priors [B, num_actions] (non-negative; renormalised over the legal moves) and
        values [B] in [-1, 1] for the player to move in each state."""


@dataclass(frozen=True)
class SearchConfig:
    num_simulations: int = 100
    """New simulations per search (a reused subtree keeps its earlier visits too)."""
    c_puct: float = 1.5
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float = 0.25
    """Weight of the Dirichlet noise in the root prior (self-play only)."""
    leaf_batch: int = 8
    """Leaves collected per tree before one evaluator call (1: no batching)."""
    virtual_loss: float = 1.0
    selection: Literal["puct", "ucb1"] = "puct"
    """puct: AlphaZero's prior-guided rule; ucb1: plain UCT (pure MCTS, priors unused)."""
    ucb1_c: float = 1.41421356

    def __post_init__(self) -> None:
        check(self.num_simulations >= 1, "num_simulations must be >= 1")
        check(self.leaf_batch >= 1, "leaf_batch must be >= 1")
        check(self.c_puct > 0, "c_puct must be > 0")
        check(0 <= self.dirichlet_fraction <= 1, "dirichlet_fraction must be in [0, 1]")
        check(self.dirichlet_alpha > 0, "dirichlet_alpha must be > 0")
        check(self.virtual_loss >= 0, "virtual_loss must be >= 0")


class Node:
    """One position. Before expansion only `state`, `actions` and `terminal_value` are set."""

    __slots__ = (
        "state",
        "actions",
        "terminal_value",
        "prior",
        "root_prior",
        "visits",
        "values",
        "children",
        "pending",
    )

    def __init__(self, game: Game, state: State):
        self.state = state
        self.actions = np.array(game.legal_actions(state), dtype=np.int64)
        """Legal action ids: the node's edges."""
        self.terminal_value: float | None = (
            -1.0 if state.won else (0.0 if len(self.actions) == 0 else None)
        )
        """The game's result for the player to move, once the game is over."""
        self.prior: np.ndarray | None = None
        """P(a) over `actions`, from the evaluator (None: not expanded)."""
        self.root_prior: np.ndarray | None = None
        """P(a) with Dirichlet noise, set only while this node is a self-play search root."""
        self.visits = np.zeros(len(self.actions))
        self.values = np.zeros(len(self.actions))
        self.children: list[Node | None] = [None] * len(self.actions)
        self.pending = False
        """Waiting for its evaluation in the current batch."""

    @property
    def expanded(self) -> bool:
        return self.prior is not None

    @property
    def visit_count(self) -> float:
        """N of this node: its expansion plus every visit through its edges."""
        return 1.0 + float(self.visits.sum())

    def child(self, action: int) -> Node | None:
        index = np.flatnonzero(self.actions == action)
        return self.children[index[0]] if len(index) else None


class MCTS:
    def __init__(self, game: Game, config: SearchConfig, rng: np.random.Generator):
        self.game, self.config, self.rng = game, config, rng

    def new_root(self, state: State) -> Node:
        return Node(self.game, state)

    def advance(self, root: Node, action: int) -> Node:
        """Tree reuse: the subtree under `action` becomes the root (a fresh node if unseen)."""
        child = root.child(action)
        if child is None:
            child = Node(self.game, self.game.apply(root.state, action))
        child.root_prior = None
        return child

    def search(self, roots: list[Node], evaluator: Evaluator, noise: bool = False) -> None:
        """Runs `num_simulations` new simulations on every root, leaves of all roots
        evaluated together. `noise`: mix Dirichlet noise into each root's prior first."""
        cfg = self.config
        fresh = [r for r in roots if not r.expanded and r.terminal_value is None]
        if fresh:
            self._evaluate_and_expand([(r, []) for r in fresh], evaluator)  # not simulations
        for root in roots:
            if noise and root.terminal_value is None:
                eta = self.rng.dirichlet(np.full(len(root.actions), cfg.dirichlet_alpha))
                root.root_prior = mix_dirichlet(root.prior, eta, cfg.dirichlet_fraction)
        remaining = [0 if r.terminal_value is not None else cfg.num_simulations for r in roots]
        while any(remaining):
            batch: list[tuple[Node, list]] = []
            for i, root in enumerate(roots):
                for _ in range(min(cfg.leaf_batch, remaining[i])):
                    path, leaf = self._select(root)
                    if leaf.terminal_value is not None:
                        self._backup(path, leaf.terminal_value)
                    elif leaf.pending:  # already waiting in this batch: evaluate first
                        self._undo_virtual_loss(path)
                        break
                    else:
                        leaf.pending = True
                        batch.append((leaf, path))
                    remaining[i] -= 1
            if batch:
                self._evaluate_and_expand(batch, evaluator)

    def visit_policy(self, root: Node, temperature: float) -> np.ndarray:
        """pi over the full action space from the root's visit counts (0 for illegal)."""
        policy = np.zeros(self.game.num_actions)
        if root.visits.sum() > 0:
            policy[root.actions] = visit_distribution(root.visits, temperature)
        else:
            policy[root.actions] = root.prior if root.expanded else 1.0 / len(root.actions)
        return policy

    def choose(self, root: Node, temperature: float) -> int:
        policy = self.visit_policy(root, temperature)
        return int(self.rng.choice(self.game.num_actions, p=policy))

    # ---- one simulation -----------------------------------------------------------------

    def _select(self, root: Node) -> tuple[list[tuple[Node, int]], Node]:
        cfg, node, path = self.config, root, []
        while node.expanded and node.terminal_value is None:
            q = mean_values(node.values, node.visits)
            if cfg.selection == "puct":
                prior = node.root_prior if node.root_prior is not None else node.prior
                scores = puct_scores(q, prior, node.visits, node.visit_count, cfg.c_puct)
            else:
                scores = ucb1_scores(q, node.visits, node.visit_count, cfg.ucb1_c)
            index = int(np.argmax(scores))
            node.visits[index] += cfg.virtual_loss
            node.values[index] -= cfg.virtual_loss
            path.append((node, index))
            child = node.children[index]
            if child is None:
                state = self.game.apply_legal(node.state, int(node.actions[index]))
                child = node.children[index] = Node(self.game, state)
            node = child
        return path, node

    def _undo_virtual_loss(self, path: list[tuple[Node, int]]) -> None:
        vl = self.config.virtual_loss
        for node, index in path:
            node.visits[index] -= vl
            node.values[index] += vl

    def _backup(self, path: list[tuple[Node, int]], value: float) -> None:
        """`value` is for the player to move at the leaf; each edge gets its parent's view."""
        vl = self.config.virtual_loss
        for node, index in reversed(path):
            value = -value
            node.visits[index] += 1.0 - vl
            node.values[index] += value + vl

    def _evaluate_and_expand(self, batch: list[tuple[Node, list]], evaluator: Evaluator) -> None:
        priors, values = evaluator([leaf.state for leaf, _ in batch])
        for (leaf, path), prior, value in zip(batch, priors, values, strict=True):
            p = np.asarray(prior, dtype=np.float64)[leaf.actions]
            total = p.sum()
            leaf.prior = p / total if total > 0 else np.full(len(p), 1.0 / len(p))
            leaf.pending = False
            self._backup(path, float(value))
