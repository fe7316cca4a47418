"""Failing a trial whose actors stopped returning work, so that Tune restores it.

When a node dies, the replacements of its actors wait for their placement-group bundles to
be placed again. Where that does not happen (the group no longer fits the nodes left, or
Ray has not re-placed the bundles), a driver waiting on them would wait for ever. Drivers
wait through `first_ready` / `get_within`: after `resources.stall_timeout_s` without a
result they raise `ActorsStalled`, the trial fails, and Tune restores it from its last
checkpoint in a fresh placement group (up to `tune.max_failures` times).

Waiting can also return without work: a replacement placed on a bundle that Ray still
ties to the lost node dies at once ("its node has died"), is replaced, dies again, and so
on. A `WorkClock` per driver notes every result; a driver replacing an actor checks it, and
after `stall_timeout_s` without a result the trial fails the same way.
"""

from __future__ import annotations

import time
from typing import Any

import ray

DEFAULT_STALL_TIMEOUT_S = 300.0


class ActorsStalled(RuntimeError):
    """No actor of the trial returned work within the stall timeout."""


def _stalled(what: str, timeout_s: float) -> ActorsStalled:
    return ActorsStalled(
        f"no {what} returned in {timeout_s:g} s (resources.stall_timeout_s): a replacement "
        "actor may be waiting for, or dying on, a placement-group bundle of a lost node; "
        "failing the trial so that Tune restores it from its last checkpoint"
    )


class WorkClock:
    """When a driver's actors last returned work."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def worked(self) -> None:
        self.last = time.monotonic()

    def check(self, timeout_s: float, what: str) -> None:
        """`ActorsStalled` when no work came back for `timeout_s` (replacements that keep
        dying)."""
        if time.monotonic() - self.last > timeout_s:
            raise _stalled(what, timeout_s)


def first_ready(refs: list[Any], timeout_s: float, what: str) -> Any:
    """The first of `refs` to finish (`ray.wait`), or `ActorsStalled` after `timeout_s`."""
    ready, _ = ray.wait(list(refs), num_returns=1, timeout=timeout_s)
    if not ready:
        raise _stalled(what, timeout_s)
    return ready[0]


def all_ready(refs: list[Any], timeout_s: float, what: str) -> list[Any]:
    """Waits for every one of `refs` (`ray.wait`); `ActorsStalled` if some are still pending
    after `timeout_s`."""
    refs = list(refs)
    if not refs:
        return []
    ready, pending = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
    if pending:
        raise _stalled(what, timeout_s)
    return ready


def get_within(ref: Any, timeout_s: float, what: str) -> Any:
    """`ray.get(ref)`, or `ActorsStalled` after `timeout_s`."""
    try:
        return ray.get(ref, timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        raise _stalled(what, timeout_s) from None
