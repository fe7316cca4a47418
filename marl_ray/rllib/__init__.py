"""RLlib integration: env registration, algorithm configs, callbacks, Tune trainables."""
