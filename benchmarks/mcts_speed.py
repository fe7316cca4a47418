"""MCTS speed with batched leaf evaluation against one leaf per network call, in one run.

Both searches use the same Connect Four policy-value network (AlphaZero config sizes, torch on
one thread as in a self-play actor) from the same positions. Unbatched: one tree at a time,
every leaf evaluated alone (leaf_batch 1). Batched: 16 trees searched together, 8 leaves per
tree with virtual loss, all of them in one network call. Target: batched >= 3x.
Prints one JSON line last: {"batched_sims_per_s", "unbatched_sims_per_s", "ratio", ...}.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from envs.board_games import make_game
from marl_ray.algorithms.alphazero.evaluators import NetworkEvaluator
from marl_ray.algorithms.alphazero.mcts import MCTS, SearchConfig
from marl_ray.algorithms.alphazero.network import NetworkConfig, PolicyValueNet


def openings(game, count: int, rng: np.random.Generator):
    """`count` positions a few random plies into the game."""
    states = []
    while len(states) < count:
        state = game.initial_state()
        for _ in range(int(rng.integers(0, 8))):
            legal = game.legal_actions(state)
            state = game.apply(state, legal[int(rng.integers(len(legal)))])
        if game.outcome(state) is None:
            states.append(state)
    return states


def sims_per_s(game, evaluator, states, simulations: int, leaf_batch: int, together: bool):
    mcts = MCTS(
        game,
        SearchConfig(num_simulations=simulations, leaf_batch=leaf_batch),
        np.random.default_rng(0),
    )
    roots = [mcts.new_root(s) for s in states]
    start = time.perf_counter()
    if together:
        mcts.search(roots, evaluator)
    else:
        for root in roots:
            mcts.search([root], evaluator)
    elapsed = time.perf_counter() - start
    return len(roots) * simulations / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--game", default="connect4")
    parser.add_argument("--positions", type=int, default=16)
    parser.add_argument("--simulations", type=int, default=200)
    parser.add_argument("--leaf-batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--res-blocks", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    game = make_game(args.game)
    network = PolicyValueNet(game, NetworkConfig(args.channels, args.res_blocks, 64))
    states = openings(game, args.positions, np.random.default_rng(0))
    batched_eval, single_eval = NetworkEvaluator(game, network), NetworkEvaluator(game, network)
    sims_per_s(game, single_eval, states[:2], 20, 1, False)  # warm-up
    unbatched = sims_per_s(game, single_eval, states, args.simulations, 1, False)
    batched = sims_per_s(game, batched_eval, states, args.simulations, args.leaf_batch, True)
    print(
        json.dumps(
            {
                "batched_sims_per_s": round(batched, 1),
                "unbatched_sims_per_s": round(unbatched, 1),
                "ratio": round(batched / unbatched, 2),
                "mean_leaves_per_call_batched": round(
                    batched_eval.positions / batched_eval.calls, 1
                ),
                "game": args.game,
                "network": f"{args.channels}ch x {args.res_blocks} residual blocks",
                "target_met": batched / unbatched >= 3,
            }
        )
    )


if __name__ == "__main__":
    main()
