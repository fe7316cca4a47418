"""IMPALA: actors roll out with a slightly stale policy; one learner corrects with V-trace."""
