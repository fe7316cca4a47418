"""MADDPG (Lowe et al. 2017): decentralised deterministic actors, a centralised critic per
policy on the global state and every agent's action; Box actions directly, Discrete actions
through the straight-through Gumbel-softmax."""
