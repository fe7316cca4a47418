"""Readable, unique names for a run's actors, and a fresh seed index for each one."""

from __future__ import annotations


class ActorNames:
    """`<prefix>/<role>-<i>` for the first actor in slot i, `...-r<n>` for replacements.

    `n` and the seed index count every actor this run has started, so a replacement never
    reuses a live actor's name or an earlier actor's seed (restored counters included).
    """

    def __init__(self, prefix: str, role: str):
        self.prefix, self.role, self.spawned = prefix, role, 0

    def next(self, slot: int, replacement: bool) -> tuple[str, int]:
        """(name, seed index) for a new actor in `slot`."""
        index = self.spawned
        self.spawned += 1
        suffix = f"-r{index}" if replacement else ""
        return f"{self.prefix}/{self.role}-{slot}{suffix}", index
