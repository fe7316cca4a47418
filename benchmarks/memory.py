"""Resident memory of a training run's processes, sampled while it runs (benchmarks).

Reads Linux's /proc (command lines as Ray's workers set them: `ray::<Class>.<method>`)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

OUR_PPO_PROCESSES = ("PPOTrainable", "SamplerHost", "PPOLearnerActor")


class MemorySampler(threading.Thread):
    """Sums the RSS of processes whose command line names one of `names`, once a second."""

    def __init__(self, names: tuple[str, ...]):
        super().__init__(daemon=True)
        self.names, self.samples, self.running = names, [], True

    def run(self) -> None:
        while self.running:
            total = sum(rss_bytes(pid) for pid in self.matching())
            if total:
                self.samples.append((time.time(), total / 2**20))
            time.sleep(1.0)

    def matching(self) -> list[str]:
        pids = []
        for proc in Path("/proc").iterdir():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ValueError):
                continue
            if any(f"ray::{n}" in cmd for n in self.names):
                pids.append(proc.name)
        return pids

    def figures(self) -> dict[str, float]:
        """Peak RSS, and growth: the largest sample of the run's last tenth minus the largest
        of its second tenth (the first tenth is the processes starting)."""
        if not self.samples:
            return {}
        values = [mb for _, mb in self.samples]
        tenth = max(1, len(values) // 10)
        settled = values[tenth : 2 * tenth] or values[-1:]
        end = max(values[-tenth:])  # the very last samples may catch the processes exiting
        return {
            "peak": round(max(values)),
            "settled": round(max(settled)),
            "end": round(end),
            "growth": round(end - max(settled)),
        }


def rss_bytes(pid: str) -> int:
    """A process's resident set size (0 if it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
