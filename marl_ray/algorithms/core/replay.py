"""Uniform replay of fixed-length sequences (one env copy's `T` consecutive joint steps).

Storing sequences rather than single transitions lets the learner compute n-step targets
inside each sequence (windows stop at its end and bootstrap there) and train recurrent
agents on them. A field may hold one entry per sequence instead of one per step (a
recurrent agent's starting hidden state, `[1, E, ...]`). Capacity is counted in transitions
(sequences x T); memory is allocated on the first insert, from the chunk's own shapes and
dtypes, and `nbytes` says how much it takes.
"""

from __future__ import annotations

import torch


class SequenceReplay:
    def __init__(self, capacity_transitions: int, sequence_length: int, seed: int = 0):
        if capacity_transitions < sequence_length:
            raise ValueError(
                f"replay capacity ({capacity_transitions} transitions) must hold at least one "
                f"sequence of {sequence_length}"
            )
        self.length = sequence_length
        self.capacity = capacity_transitions // sequence_length  # in sequences
        self.storage: dict[str, torch.Tensor] = {}
        self.size = 0
        self.next = 0
        self.added = 0
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        """Transitions held."""
        return self.size * self.length

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.storage.values())

    def add(self, chunk: dict[str, torch.Tensor]) -> None:
        """A chunk `[T, E, ...]` of E copies' sequences (T must be the sequence length; a
        field of one entry per sequence is `[1, E, ...]`)."""
        E = next(iter(chunk.values())).shape[1]
        for key, value in chunk.items():
            if value.shape[0] not in (self.length, 1) or value.shape[1] != E:
                raise ValueError(
                    f"chunk field {key!r} has shape {tuple(value.shape)}; expected "
                    f"[{self.length} steps (or 1 per sequence), {E} copies, ...]"
                )
        if not self.storage:
            self.storage = {
                k: torch.zeros((self.capacity, *v.shape[:1], *v.shape[2:]), dtype=v.dtype)
                for k, v in chunk.items()
            }
        slots = (self.next + torch.arange(E)) % self.capacity
        for key, value in chunk.items():
            self.storage[key][slots] = value.transpose(0, 1)
        self.next = int((self.next + E) % self.capacity)
        self.size = min(self.capacity, self.size + E)
        self.added += E

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        """`batch_size` sequences drawn uniformly (with replacement), time-major `[T, B, ...]`."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        index = torch.randint(self.size, (batch_size,), generator=self.generator)
        return {k: v[index].transpose(0, 1) for k, v in self.storage.items()}

    def state_dict(self) -> dict:
        return {
            "storage": {k: v[: self.size].clone() for k, v in self.storage.items()},
            "next": self.next,
            "added": self.added,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        stored = state["storage"]
        self.size = next(iter(stored.values())).shape[0] if stored else 0
        if stored:
            self.storage = {
                k: torch.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype)
                for k, v in stored.items()
            }
            for k, v in stored.items():
                self.storage[k][: self.size] = v
        self.next, self.added = int(state["next"]), int(state["added"])
        self.generator.set_state(state["generator"])
