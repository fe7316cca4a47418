"""Picks the torch device from what this process can actually use."""

from __future__ import annotations

import logging
import warnings

import torch

logger = logging.getLogger(__name__)


def select_device(gpus_requested: float, what: str = "the learner") -> torch.device:
    """`cuda` when GPUs were requested and torch sees one; otherwise CPU, with a warning if
    GPUs were requested (e.g. a `GPU` resource declared on a machine without CUDA)."""
    if gpus_requested > 0:
        if torch.cuda.is_available():
            return torch.device("cuda")
        message = (
            f"{what} was given {gpus_requested:g} GPU(s) but torch sees no CUDA device here; "
            "it runs on CPU"
        )
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        logger.warning(message)
    return torch.device("cpu")
