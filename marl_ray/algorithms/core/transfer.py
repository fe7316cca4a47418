"""Bytes that actors hand each other: trajectories, chunks and replay batches, gradients,
weights. They cross nodes wherever sender and receiver sit on different nodes (a SPREAD
placement), so a trial's figures `transfer_bytes_per_iteration` and `transfer_bytes_per_s`
are what a cluster's network carries for it at most."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import torch

TRANSFER_GAUGE = "transfer_bytes_per_s"
"""The dashboard gauge (`marl_ray_transfer_bytes_per_s`) of `TransferCount.figures`."""


def nbytes(obj: Any) -> int:
    """Bytes of the tensors and arrays in `obj` (nested dicts, lists, tuples, NamedTuples)."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(nbytes(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(nbytes(v) for v in obj)
    return 0


class TransferCount:
    """Bytes by kind (e.g. `trajectory`, `weights`) since the last `figures()`."""

    def __init__(self) -> None:
        self.bytes: Counter[str] = Counter()

    def add(self, kind: str, count: int) -> None:
        self.bytes[kind] += int(count)

    def figures(self, elapsed_s: float) -> dict[str, float]:
        """`transfer_bytes_per_iteration`, `transfer_bytes_per_s` and `<kind>_bytes` of the
        stretch since the last call (then counting starts again)."""
        total = sum(self.bytes.values())
        out = {
            "transfer_bytes_per_iteration": float(total),
            TRANSFER_GAUGE: total / elapsed_s if elapsed_s > 0 else 0.0,
            **{f"{kind}_bytes": float(n) for kind, n in sorted(self.bytes.items())},
        }
        self.bytes.clear()
        return out
