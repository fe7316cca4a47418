"""marl_ray: multi-agent RL training on Ray. `marl_ray.register_env(name, factory)` makes a
user env usable by name in experiment files (README, "Your own environment")."""


def __getattr__(name: str):
    if name == "register_env":  # lazily: importing marl_ray stays light
        from envs.plugins import register_env

        return register_env
    raise AttributeError(f"module 'marl_ray' has no attribute {name!r}")
