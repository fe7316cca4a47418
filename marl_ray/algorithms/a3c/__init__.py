"""Asynchronous advantage actor-critic: workers push n-step gradients to a parameter server."""
