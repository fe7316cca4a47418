"""marl_ray's own distributed algorithms: a shared core (networks, rollouts, returns,
parameter server) that runs without Ray, and thin Ray actors and Tune trainables around it."""
