"""A run's progress in optimizer steps, and nothing the user did not ask for.

At a terminal, :class:`StepProgressBar` draws Lightning's bar in optimizer steps against
``max_steps`` (a Lightning batch runs several steps; a resumed run starts the bar at the step it
resumes from). Elsewhere (CI, ``> file``), :class:`LineProgress` writes a line every
``monitor.log_every`` steps and at the last step, on the ``deepinn.training`` logger (the app's
log file ``train.log`` and console), or prints it when nothing configured logging (the Python API
in a script)::

    step 200/2000  loss 1.23e-02 (pde 1.1e-02, bc 1.3e-03)  rel_l2 3.2e-02  85 steps/s  0:00:21 left

:func:`quiet_lightning` keeps Lightning's informational lines (GPU/TPU availability, its
advertising tip, "``Trainer.fit`` stopped") out of a run's output; its warnings still show.
:func:`warnings_as_log_lines` shows a warning raised at deepinn's own code as one log line.
"""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

__all__ = [
    "LIGHTNING_INFO_LOGGERS", "LineProgress", "StepProgressBar", "log_line", "progress_callbacks",
    "quiet_lightning", "stdout_is_terminal", "warnings_as_log_lines",
]

logger = logging.getLogger("deepinn.training")

LIGHTNING_INFO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning.pytorch.accelerators.cuda",
)
"""Lightning's loggers of informational lines (available devices, tips, why ``fit`` stopped)."""


def stdout_is_terminal() -> bool:
    """Whether standard output is an interactive terminal (a progress bar can redraw there)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def log_line(message: str) -> None:
    """``message`` to the ``deepinn.training`` logger, or to stdout when logging is not set up."""
    if logger.hasHandlers() and logger.isEnabledFor(logging.INFO):
        logger.info(message)
    else:
        print(message, flush=True)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's informational loggers (:data:`LIGHTNING_INFO_LOGGERS`) at WARNING inside,
    as they were after."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_INFO_LOGGERS]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(max(logging.WARNING, each.level))
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


_PACKAGE = Path(__file__).resolve().parents[2]  # deepinn/


def _inside_deepinn(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False


@contextmanager
def warnings_as_log_lines() -> Iterator[None]:
    """Inside, a warning that Python would show at a line of deepinn's own code (the command
    line calls ``fit`` from there) is a one-line WARNING on the ``deepinn.training`` logger
    instead: a user learns nothing from deepinn's file and line. Others show as before."""
    show = warnings.showwarning

    def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
              file: TextIO | None = None, line: str | None = None) -> None:
        if _inside_deepinn(filename):
            logger.warning("%s", message)
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = _show
    try:
        yield
    finally:
        warnings.showwarning = show


def _duration(seconds: float) -> str:
    """``0:01:05`` (hours, minutes, seconds)."""
    if not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class StepProgressBar(TQDMProgressBar):
    """Lightning's terminal bar counting optimizer steps (``trainer.global_step``) against
    ``max_steps``, from the step a resumed run starts at; the rate is in steps per second."""

    def __init__(self, max_steps: int, refresh_rate: int = 1) -> None:
        super().__init__(refresh_rate=refresh_rate)
        self.max_steps = max_steps

    def init_train_tqdm(self) -> Any:
        bar = super().init_train_tqdm()
        bar.unit = "step"
        return bar

    def init_validation_tqdm(self) -> Any:
        """No bar of its own for validation (one batch, done in a moment): its error shows in
        the training bar."""
        return Tqdm(disable=True)

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        metrics: dict[str, Any] = dict(super().get_metrics(trainer, pl_module))
        metrics.pop("v_num", None)
        error = trainer.callback_metrics.get("val/rel_l2")
        if error is not None:
            metrics["rel_l2"] = f"{float(error):.3e}"
        return metrics

    def on_train_start(self, trainer: pl.Trainer, *args: Any) -> None:
        super().on_train_start(trainer, *args)
        self._count_steps(trainer)  # a resumed run may not start an epoch

    def on_train_epoch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        super().on_train_epoch_start(trainer, *args)
        self._count_steps(trainer)

    def _count_steps(self, trainer: pl.Trainer) -> None:
        bar = self.train_progress_bar
        bar.reset(total=self.max_steps)
        bar.initial = bar.n = trainer.global_step  # the rate counts this run's steps only
        bar.set_description("Training")

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        bar = self.train_progress_bar
        step = trainer.global_step
        if bar is None or bar.disable:
            return
        if (batch_idx + 1) % self.refresh_rate == 0 or step >= self.max_steps:
            bar.n = step
            bar.set_postfix(self.get_metrics(trainer, pl_module), refresh=False)
            bar.refresh()


class LineProgress(pl.Callback):
    """A line every ``every`` steps and at the last (rank zero): the step against ``max_steps``,
    the total loss and each constraint's, the validation error measured since the previous line,
    the steps per second since then and the time left at that rate."""

    def __init__(self, every: int, max_steps: int) -> None:
        self.every = every
        self.max_steps = max_steps
        self._last: tuple[int, float] | None = None  # (step, time) of the previous line
        self._pending: tuple[str, str] | None = None  # a line waiting for its step's validation
        self._error: float | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._last = (trainer.global_step, time.perf_counter())

    def _parts(self, step: int, pl_module: pl.LightningModule) -> tuple[str, str]:
        """The line's losses and its speed (the validation error goes between)."""
        losses = getattr(pl_module, "last_losses", {})
        head = f"step {step}/{self.max_steps}  loss {_number(losses.get('total'))}"
        terms = [f"{name} {_number(value)}" for name, value in losses.items() if name != "total"]
        if len(terms) > 1:
            head += f" ({', '.join(terms)})"
        now = time.perf_counter()
        before_step, before = self._last or (step, now)
        self._last = (step, now)
        speed = ""
        if step > before_step and now > before:
            rate = (step - before_step) / (now - before)
            speed = f"{rate:.3g} steps/s  {_duration((self.max_steps - step) / rate)} left"
        return head, speed

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._flush()
        step = trainer.global_step  # steps done
        if not trainer.is_global_zero or (step % self.every and step != self.max_steps):
            return
        self._pending = self._parts(step, pl_module)  # this step's validation may follow

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        error = trainer.callback_metrics.get("val/rel_l2")
        if error is not None:
            self._error = float(error)
        self._flush()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._flush()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._flush()

    def _flush(self) -> None:
        if self._pending is None:
            return
        (head, speed), self._pending = self._pending, None
        parts = [head]
        if self._error is not None:
            parts.append(f"rel_l2 {self._error:.3e}")
            self._error = None
        log_line("  ".join(parts + ([speed] if speed else [])))


def _number(value: Any) -> str:
    return f"{float(value):.3e}" if value is not None else "n/a"


def progress_callbacks(
    options: dict[str, Any], callbacks: list[pl.Callback], every: int, max_steps: int
) -> list[pl.Callback]:
    """The progress callback of a run: the step bar at a terminal, lines elsewhere (and the
    Trainer's own bar off, ``options["enable_progress_bar"] = False``), none when the bar is
    disabled or ``callbacks`` bring their own."""
    if not options.get("enable_progress_bar", True):
        return []
    if any(isinstance(callback, ProgressBar) for callback in callbacks):
        return []
    if stdout_is_terminal():
        return [StepProgressBar(max_steps)]
    options["enable_progress_bar"] = False  # no carriage-return bar in a log file
    return [LineProgress(every, max_steps)]
