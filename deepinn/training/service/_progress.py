"""Progress as lines when the output is not a terminal (CI, ``> file``), through logging.

``step 200/2000  loss 1.234e-02`` every ``monitor.log_every`` steps and at the last step, on the
``deepinn.training`` logger (the app's log file ``train.log`` and console), or printed when
nothing configured logging (the Python API in a script).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import lightning.pytorch as pl

__all__ = ["LineProgress", "log_line", "stdout_is_terminal"]

logger = logging.getLogger("deepinn.training")


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


class LineProgress(pl.Callback):
    """A line ``step N/M  loss L`` every ``every`` steps (rank zero)."""

    def __init__(self, every: int, max_steps: int) -> None:
        self.every = every
        self.max_steps = max_steps

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        step = trainer.global_step  # steps done
        if not trainer.is_global_zero or (step % self.every and step != self.max_steps):
            return
        losses = getattr(pl_module, "last_losses", {})
        loss = losses.get("total")
        text = f"{float(loss):.3e}" if loss is not None else "n/a"
        log_line(f"step {step}/{self.max_steps}  loss {text}")
