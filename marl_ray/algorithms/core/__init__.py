"""Algorithm building blocks that run without Ray."""
