"""Known-harmless messages of Ray and RLlib, dropped by logger and message, never globally.

Each entry names the logger that emits it and a piece of the message, so anything else from
those loggers (and every other warning) still reaches the user. `install()` runs in the CLI
process and, through Ray's `worker_process_setup_hook`, in every worker of embedded Ray.
"""

from __future__ import annotations

import logging
import sys

HARMLESS: dict[str, tuple[str, ...]] = {
    # We choose the new API stack on purpose; RLlib says so once per config build.
    "ray.rllib.algorithms.algorithm_config": ("on the new API stack!",),
    # RLlib's own RLModule.__init__ builds the deprecated RLModuleConfig (not our modules).
    "ray._common.deprecation": ("RLModule(config=[RLModuleConfig object])",),
    # Embedded Ray turns token auth on by itself; clients here find the token on their own.
    "ray._private.authentication.authentication_token_setup": ("Token authentication is",),
    "ray.tune.utils.util": ("Install gputil",),
    # One line per trial checkpoint from inside the trial; our progress table has the count.
    "ray.train._internal.storage": ("Checkpoint successfully created at",),
}

ONCE: dict[str, tuple[str, ...]] = {
    # Fast iterations with frequent checkpoints force an experiment snapshot every few
    # seconds; worth saying once, not every time it happens.
    "ray.tune.execution.experiment_state": ("Experiment state snapshotting has been triggered",),
}


class _DropKnown(logging.Filter):
    """Drops records containing one of `fragments`; with `once`, all but the first."""

    def __init__(self, fragments: tuple[str, ...], once: bool = False):
        super().__init__()
        self.fragments = fragments
        self.once = once
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hit = next((fragment for fragment in self.fragments if fragment in message), None)
        if hit is None:
            return True
        if self.once and hit not in self.seen:
            self.seen.add(hit)
            return True
        return False


def _ignore_learner_group_exit(default_hook):
    """At shutdown Ray's SIGTERM handler raises SystemExit inside RLlib's
    `LearnerGroup.__del__`; Python prints that as an ignored exception. Only that one is
    dropped."""

    def hook(unraisable) -> None:
        where = getattr(unraisable.object, "__qualname__", "")
        if unraisable.exc_type is SystemExit and where.endswith("LearnerGroup.__del__"):
            return
        default_hook(unraisable)

    hook.marl_ray_quiet = True
    return hook


def install() -> None:
    """Adds the filters (once per process)."""
    for table, once in ((HARMLESS, False), (ONCE, True)):
        for name, fragments in table.items():
            logger = logging.getLogger(name)
            if not any(isinstance(f, _DropKnown) for f in logger.filters):
                logger.addFilter(_DropKnown(fragments, once))
    if not getattr(sys.unraisablehook, "marl_ray_quiet", False):
        sys.unraisablehook = _ignore_learner_group_exit(sys.unraisablehook)


WORKER_SETUP_HOOK = f"{__name__}.install"
