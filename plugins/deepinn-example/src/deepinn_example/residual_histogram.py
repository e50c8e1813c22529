"""TEMPLATE (callback, continued): the Lightning callback behind ``example_residual_histogram``.

Kept apart from its schema and factory (``callback.py``) so that loading the registry, which
imports ``plugin.py`` and what it imports, does not import Lightning: the factory imports this
module when a run builds the callback.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger

from deepinn_example.callback import ResidualHistogramParams

__all__ = ["ResidualHistogram"]


def _writer(trainer: pl.Trainer) -> Any | None:
    """The TensorBoard ``SummaryWriter`` of the run, if it logs to TensorBoard."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


class ResidualHistogram(pl.Callback):
    """Log a histogram of each constraint's ``log10 |residual|`` as a TensorBoard figure."""

    def __init__(self, params: ResidualHistogramParams) -> None:
        self.params = params
        self._validations = 0

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._validations = 0

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        self._validations += 1
        writer = _writer(trainer)
        if writer is None or (self._validations - 1) % self.params.every:
            return
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
        generator = torch.Generator().manual_seed(trainer.global_step)
        module: Any = pl_module  # deepinn's training module: its problem and its loss
        for constraint in module.problem.constraints:
            batch = constraint.sample(generator)
            batch = {key: value[: self.params.points] for key, value in batch.items()}
            if not len(batch["x"]):
                continue
            residual = module.loss.pointwise_residual(constraint, batch)
            values = torch.log10(residual.clamp_min(1e-30)).numpy()
            axes.hist(values, bins=self.params.bins, histtype="step", label=constraint.name)
        axes.set_xlabel("log10 |residual|")
        axes.set_ylabel("points")
        axes.set_title(f"residuals at step {trainer.global_step}")
        axes.legend()
        writer.add_figure(self.params.tag, figure, global_step=trainer.global_step, close=True)
