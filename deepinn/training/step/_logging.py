"""What a training module logs every ``monitor.log_every`` steps, with one host sync."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from deepinn.training.step._module import PINNModule

__all__ = ["log_losses"]


def _lightning_reads_the_loss(trainer: Any) -> bool:
    """Whether the progress bar or a callback's ``monitor`` reads ``train/loss``."""
    return trainer.progress_bar_callback is not None or any(
        getattr(callback, "monitor", None) == "train/loss" for callback in trainer.callbacks
    )


def log_losses(
    module: PINNModule, step: int, losses: Mapping[str, torch.Tensor], optimizer: Any
) -> None:
    """Log every loss, the learning rate, the coefficients and the toolbox's weights of
    ``module`` to its loggers at ``step``.

    One ``log_metrics`` call with one host sync. Only the total goes through ``module.log``,
    and only when something reads it (the progress bar, or a callback such as the checkpoint's
    that monitors ``train/loss``): Lightning re-walks a logged metric's whole state at every
    call, a cost per key that is a noticeable part of a small PINN's step. The losses are global
    already (reduced with the gradients): no extra sync under DDP.
    """
    if _lightning_reads_the_loss(module.trainer):
        module.log("train/loss", losses["total"], prog_bar=True, logger=False, batch_size=1)
    if not module.loggers:
        return
    values = {f"train/loss/{name}": value for name, value in losses.items() if name != "total"}
    values["train/loss"] = losses["total"]
    for name, parameter in module.coefficients.items():
        values[f"train/coefficient/{name}"] = parameter.detach().reshape(-1)[0]
    values.update(module.balancer.logged())
    for name, weights in module.loss.causal.last_weights.items():
        values[f"train/causal/{name}/min_weight"] = weights.min()
        values.update({f"train/causal/{name}/chunk_{i}": w for i, w in enumerate(weights)})
    numbers = torch.stack([value.detach().double() for value in values.values()]).tolist()
    metrics = dict(zip(values, numbers, strict=True))
    metrics["train/lr"] = optimizer.optimizer.param_groups[0]["lr"]
    # an optimizer's own figures (the quasi-Newton ones: time per step, memory, evaluations)
    stats = getattr(optimizer.optimizer, "stats", None) or {}
    metrics.update({f"train/optimizer/{key}": float(value) for key, value in stats.items()})
    for logger in module.loggers:
        logger.log_metrics(metrics, step=step)
