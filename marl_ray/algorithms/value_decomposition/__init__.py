"""Value decomposition: IQL (independent Q-learning), VDN (Q_tot = sum of the agents' Q)
and QMIX (a monotonic mixer on the global state), on the multi-agent core."""
