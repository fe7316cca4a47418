"""Known-harmless Ray/RLlib messages are dropped by logger and message; nothing else is."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

from marl_ray import quiet


def test_only_the_known_messages_are_dropped(caplog):
    quiet.install()
    quiet.install()  # idempotent
    logger = logging.getLogger("ray.rllib.algorithms.algorithm_config")
    assert sum(isinstance(f, quiet._DropKnown) for f in logger.filters) == 1
    with caplog.at_level(logging.WARNING):
        logger.warning("You are running PPO on the new API stack! This is the new default")
        logger.warning("something else went wrong")
        logging.getLogger("some.other").warning("You are running PPO on the new API stack!")
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert ("ray.rllib.algorithms.algorithm_config", "something else went wrong") in messages
    assert ("some.other", "You are running PPO on the new API stack!") in messages
    assert len(messages) == 2


def test_repeated_messages_are_shown_once(caplog):
    quiet.install()
    logger = logging.getLogger("ray.tune.execution.experiment_state")
    for f in logger.filters:
        f.seen.clear()  # earlier tests of this session may have shown it already
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            logger.warning("Experiment state snapshotting has been triggered multiple times")
        logger.warning("Saving the experiment state took 40 s")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Experiment state snapshotting has been triggered multiple times",
        "Saving the experiment state took 40 s",
    ]


def test_only_learner_group_exit_at_shutdown_is_silenced():
    seen = []
    hook = quiet._ignore_learner_group_exit(seen.append)

    class LearnerGroup:
        def __del__(self):
            pass

    hook(SimpleNamespace(exc_type=SystemExit, object=LearnerGroup.__del__))
    other = SimpleNamespace(exc_type=RuntimeError, object=LearnerGroup.__del__)
    hook(other)
    assert seen == [other]
    quiet.install()
    assert getattr(sys.unraisablehook, "marl_ray_quiet", False)
