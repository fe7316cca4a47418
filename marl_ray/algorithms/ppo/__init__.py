"""Distributed PPO (IPPO / MAPPO): workers step batched cores, one learner updates every
policy, and the new weights go to every worker before the next batch."""
