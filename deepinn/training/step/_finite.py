"""Finiteness of the losses, tracked on the device and checked with one host sync."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

import torch

from deepinn._errors import Setting, TrainingError

__all__ = ["FiniteTracker", "non_finite_error"]


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


def last_checkpoint(trainer: Any) -> str | None:
    """The last checkpoint the trainer's checkpoint callbacks wrote (None: none yet)."""
    checkpoint = None
    if trainer is not None:
        for callback in trainer.checkpoint_callbacks:
            checkpoint = getattr(callback, "last_model_path", None) or checkpoint
    return checkpoint


def non_finite_error(step: int, names: list[str], checkpoint: str | None) -> TrainingError:
    """The error that stops a run whose loss went non-finite at ``step`` in constraints
    ``names``; its fix lowers the learning rate and, from ``checkpoint``, continues the run."""
    lower = Setting("optimizer.lr", "<lower>", python="phases=adam(lr=<lower>)")
    if checkpoint:
        run_folder = Path(checkpoint).parent.parent
        advice = "Lower the learning rate and continue from it"
        fix = [Setting("resume", str(run_folder), python=f"resume='{run_folder}'"), lower]
    else:
        advice, fix = "Lower the learning rate and run again", [lower]
    return TrainingError(
        f"Non-finite loss at step {step} in constraint(s) {names}. Training stopped; the last "
        f"good checkpoint is {checkpoint or '(none saved yet)'}. {advice}: {{fix}} (or your "
        "phases with a lower lr); or check the residual and its data for NaN/inf, or use "
        "float64 (dtype=float64).",
        fix=fix,
    )
