"""Finiteness of the losses, tracked on the device and checked with one host sync."""

from __future__ import annotations

from collections.abc import Mapping
from typing import final

import torch

__all__ = ["FiniteTracker"]


@final
class FiniteTracker:
    """Keeps each step's constraint losses on the device until the next check (no host sync).

    At most ``limit`` steps are kept: :meth:`track` says when the buffer is full, so that a very
    long check interval still checks (one host sync) that often and the memory stays bounded.

    Args:
        limit: The most steps kept between two checks.
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._names: list[str] = []
        self._unchecked: list[tuple[int, torch.Tensor]] = []

    def __len__(self) -> int:
        return len(self._unchecked)

    def track(self, step: int, losses: Mapping[str, torch.Tensor]) -> bool:
        """Keep ``step``'s losses (by constraint name); whether a check is due now (buffer full)."""
        if not self._names:
            self._names = list(losses)
        self._unchecked.append((step, torch.stack(list(losses.values()))))
        return len(self._unchecked) >= self.limit

    def first_non_finite(self) -> tuple[int, list[str]] | None:
        """The first kept step with a NaN/inf loss and its constraint names; empties the buffer.

        One host sync over every step kept since the last call.

        Returns:
            ``(step, names)`` of the first bad step, or None when every loss was finite.
        """
        if not self._unchecked:
            return None
        steps = [step for step, _ in self._unchecked]
        bad = ~torch.isfinite(torch.stack([values for _, values in self._unchecked]))
        self._unchecked.clear()
        rows = bad.any(dim=1).tolist()
        if not any(rows):
            return None
        first = rows.index(True)
        flags = bad[first].tolist()
        return steps[first], [name for name, flag in zip(self._names, flags, strict=True) if flag]
