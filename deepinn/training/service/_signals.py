"""SIGTERM (``kill``, cluster schedulers): stop at the step's end, checkpoint, report, exit 143.

Lightning turns SIGTERM into ``SIGTERMException`` (a ``SystemExit`` with status 0) at the end
of the current step. :class:`SignalCheckpoint` saves ``last.ckpt`` at that point, before the
trainer tears down; ``fit`` then writes ``metrics.json`` with the stop reason and raises
:class:`RunInterruptedError`, which the app turns into exit status 143 (128 + SIGTERM).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException

from deepinn._errors import Setting, TrainingError

__all__ = ["EXIT_SIGTERM", "RunInterruptedError", "SIGTERMException", "SignalCheckpoint"]

EXIT_SIGTERM = 128 + int(signal.SIGTERM)


class RunInterruptedError(TrainingError):
    """The run stopped on a signal; its state is saved and it can be resumed.

    Attributes:
        metrics: What ``metrics.json`` holds (with ``stop_reason``).
        checkpoint: The checkpoint saved at the signal (None without a run folder).
    """

    def __init__(
        self,
        message: str,
        metrics: dict[str, Any],
        checkpoint: Path | None,
        *,
        fix: Sequence[Setting] = (),
    ) -> None:
        super().__init__(message, fix=fix)
        self.metrics = metrics
        self.checkpoint = checkpoint


class SignalCheckpoint(pl.Callback):
    """On SIGTERM: name the stop (``SIGTERM at step N``) and save ``last.ckpt`` at once."""

    def __init__(self, checkpoint_dir: Path | None) -> None:
        self.checkpoint_dir = checkpoint_dir
        self.saved: Path | None = None

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, SIGTERMException):
            return
        pl_module.stop_reason = f"SIGTERM at step {trainer.global_step}"  # type: ignore[assignment]
        if self.checkpoint_dir is None:
            return
        path = self.checkpoint_dir / "last.ckpt"
        trainer.save_checkpoint(path, weights_only=False)  # the full state: resumable
        self.saved = path
        for callback in trainer.checkpoint_callbacks:
            if hasattr(callback, "last_model_path"):
                callback.last_model_path = str(path)
