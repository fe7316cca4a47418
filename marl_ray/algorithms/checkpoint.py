"""Checkpoint files of marl_ray's own algorithms: one torch file, written atomically and
read back with `weights_only=True` (tensors, numbers and strings only, nothing unpickled)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "marl_ray_state.pt"


def save_state(directory: str | Path, state: dict[str, Any]) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{STATE_FILE}.")
    os.close(fd)
    torch.save(state, tmp)
    path = directory / STATE_FILE
    os.replace(tmp, path)
    return path


def load_state(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{directory} holds no {STATE_FILE}: not a marl_ray checkpoint")
    return torch.load(path, map_location="cpu", weights_only=True)
