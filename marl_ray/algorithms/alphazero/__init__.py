"""AlphaZero: MCTS self-play, replay, training and gated evaluation, on Ray."""
