"""TEMPLATE (callback): ``example_residual_histogram``, a TensorBoard figure of the residuals.

At every ``every``-th validation the callback draws fresh points for each constraint of the
problem, evaluates the residual there with the network as it is now, and logs a histogram of
``log10 |residual|`` (one curve per constraint) as a figure under ``tag``. A histogram shows
what the mean loss hides: a few points with large residuals (a singularity, a boundary layer)
against a well-fitted bulk.

A callback is any ``lightning.pytorch.Callback``; the factory contract is
``factory(params) -> Callback``. What it can read:

- ``pl_module`` is deepinn's ``PINNModule``: ``pl_module.problem`` (constraints, outputs,
  space), ``pl_module.net`` (the network), ``pl_module.loss`` (a ``PINNLoss``, whose
  ``pointwise_residual(constraint, batch)`` gives ``|residual|`` at each point, as the loss takes
  it) and ``pl_module.last_losses`` (the latest loss terms, ``"total"`` included);
- ``trainer.callback_metrics`` holds the validation's metrics (``val/rel_l2``, ...) after each
  validation (every ``monitor.val_every`` steps), ``trainer.global_step`` the optimizer step;
- the TensorBoard writer is the ``experiment`` of the trainer's ``TensorBoardLogger`` (absent
  with ``logger=none`` or without a run folder: then do nothing).

Every DDP rank builds and runs the callback: log from rank zero only (``trainer.is_global_zero``)
and take any decision that stops or changes the run on every rank alike.

The callback class is in ``residual_histogram.py``, imported by the factory: the hook module
(``plugin.py``) stays free of Lightning, so listing the registry stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from deepinn import ConfigurationError

if TYPE_CHECKING:
    import lightning.pytorch as pl

__all__ = ["ResidualHistogramParams", "build_residual_histogram"]


@dataclass
class ResidualHistogramParams:
    """Parameters of ``callbacks=[example_residual_histogram]``.

    Attributes:
        every: Log the figure at every N-th validation (1: at each).
        points: At most this many points per constraint.
        bins: The histogram's bins (of log10 |residual|).
        tag: The TensorBoard tag of the figure (its card is under IMAGES).
    """

    every: int = 1
    points: int = 2000
    bins: int = 40
    tag: str = "example/residual_histogram"

    def __post_init__(self) -> None:
        for key in ("every", "points", "bins"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(
                    f"example_residual_histogram: {key} = {value!r}; give an integer >= 1, "
                    f"e.g. callbacks.example_residual_histogram.{key}=10."
                )


def build_residual_histogram(params: ResidualHistogramParams) -> pl.Callback:
    """The factory: ``factory(params) -> lightning.pytorch.Callback``."""
    from deepinn_example.residual_histogram import ResidualHistogram

    return ResidualHistogram(params)
