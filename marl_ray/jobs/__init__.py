"""Ray job submission and cluster status from `marl-ray` (HTTP to the dashboard, with auth)."""
