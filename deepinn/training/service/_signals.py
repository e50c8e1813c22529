"""The end of a run: ``last.ckpt`` holds its final state; SIGTERM and Ctrl+C stop it cleanly.

SIGTERM (``kill``, cluster schedulers) and SIGINT (Ctrl+C) are treated alike: the run stops at
the end of the current step (Lightning turns SIGTERM into ``SIGTERMException``, a
``SystemExit``, at a step's end; :func:`sigint_as_sigterm` makes Ctrl+C ask for the same stop,
and a second Ctrl+C stops at once). :class:`LastCheckpoint` then saves ``last.ckpt`` at that
step, before the trainer tears down; ``fit`` writes ``metrics.json`` with the stop reason and
raises :class:`RunInterruptedError`, which the app turns into exit status 143 (128 + SIGTERM)
or 130 (128 + SIGINT). A run that ends between two periodic checkpoints (L-BFGS converged,
``max_steps`` not a multiple of the interval) saves ``last.ckpt`` at its last step too.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException

from deepinn._errors import Setting, TrainingError

__all__ = [
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "LastCheckpoint",
    "RunInterruptedError",
    "SIGTERMException",
    "sigint_as_sigterm",
]

EXIT_SIGTERM = 128 + int(signal.SIGTERM)
EXIT_SIGINT = 128 + int(signal.SIGINT)
_EXIT_STATUS = {"SIGTERM": EXIT_SIGTERM, "SIGINT": EXIT_SIGINT}


class RunInterruptedError(TrainingError):
    """The run stopped on a signal; with a run folder its state is saved and it can be resumed.

    Attributes:
        metrics: What ``metrics.json`` holds (with ``stop_reason``).
        checkpoint: The checkpoint saved at the signal (None without a run folder).
        signal_name: ``"SIGTERM"`` or ``"SIGINT"``.
    """

    def __init__(
        self,
        message: str,
        metrics: dict[str, Any],
        checkpoint: Path | None,
        *,
        fix: Sequence[Setting] = (),
        signal_name: str = "SIGTERM",
    ) -> None:
        super().__init__(message, fix=fix)
        self.metrics = metrics
        self.checkpoint = checkpoint
        self.signal_name = signal_name

    @property
    def exit_status(self) -> int:
        """128 + the signal's number: 143 for SIGTERM, 130 for SIGINT."""
        return _EXIT_STATUS.get(self.signal_name, EXIT_SIGTERM)


def _request_stop(trainer: pl.Trainer) -> None:
    """Ask Lightning to stop at the end of the current step, as it does on SIGTERM."""
    connector = getattr(trainer, "_signal_connector", None)
    if connector is not None:
        connector.received_sigterm = True


class LastCheckpoint(pl.Callback):
    """``last.ckpt`` is the run's final state: saved when training ends between two periodic
    checkpoints, and at a SIGTERM or SIGINT (named ``SIGTERM at step N`` in the stop reason).

    Args:
        checkpoint_dir: The run folder's ``checkpoints/``; None saves nothing (no run folder).
    """

    def __init__(self, checkpoint_dir: Path | None) -> None:
        self.checkpoint_dir = checkpoint_dir
        self.saved: Path | None = None
        self.signal_name: str | None = None  # the signal that asked to stop, if one did
        self._trainer: pl.Trainer | None = None

    def request_stop(self, signal_name: str) -> None:
        """Stop at the end of the current step, as on ``signal_name``."""
        self.signal_name = signal_name
        if self._trainer is not None:
            _request_stop(self._trainer)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._trainer = trainer

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.signal_name is not None:  # asked before Lightning set up its signal handling
            _request_stop(trainer)

    def _save(self, trainer: pl.Trainer) -> None:
        if self.checkpoint_dir is None:
            return
        path = self.checkpoint_dir / "last.ckpt"
        trainer.save_checkpoint(path, weights_only=False)  # the full state: resumable
        self.saved = path
        for callback in trainer.checkpoint_callbacks:
            if hasattr(callback, "last_model_path"):
                callback.last_model_path = str(path)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        step = trainer.global_step
        saved = [getattr(c, "_last_global_step_saved", -1) for c in trainer.checkpoint_callbacks]
        if step > 0 and (not saved or any(s != step for s in saved)):
            self._save(trainer)  # the periodic checkpoints stopped short of the last step

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, SIGTERMException):
            return
        name = self.signal_name or "SIGTERM"
        pl_module.stop_reason = f"{name} at step {trainer.global_step}"  # type: ignore[assignment]
        self._save(trainer)


@contextmanager
def sigint_as_sigterm(stopper: LastCheckpoint) -> Iterator[None]:
    """Within the block, a first Ctrl+C (SIGINT) asks ``stopper`` to stop at the step's end,
    as SIGTERM does; a second one raises ``KeyboardInterrupt`` at once. Outside the main thread
    (where no handler can be set) SIGINT keeps its handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: FrameType | None) -> None:
        stopper.request_stop("SIGINT")
        print(
            "\nCtrl+C: stopping at the end of this step and saving the run (press Ctrl+C again "
            "to stop at once, without saving).",
            file=sys.stderr,
            flush=True,
        )
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
