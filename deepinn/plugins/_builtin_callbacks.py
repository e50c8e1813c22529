"""Built-in plugin: deepinn's own callbacks (``callbacks=[early_stop]``).

Only the schemas live here, so that listing the registry imports no training code; each
factory imports its callback when a run builds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deepinn._errors import ConfigurationError
from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration

if TYPE_CHECKING:
    import lightning.pytorch as pl

__all__ = ["EarlyStopParams", "build_early_stop", "deepinn_callbacks"]

_MODES = ("min", "max")


@dataclass
class EarlyStopParams:
    """Stop the run when a measured value stops improving (``callbacks=[early_stop]``).

    Attributes:
        monitor: The value watched: val/rel_l2 (the relative L2 error against the solution,
            TensorBoard's error/rel_l2; or val/rel_l2/<output>), train/loss (the total loss, or
            train/loss/<constraint>: one term), or auto (val/rel_l2 where the problem has a
            solution, else train/loss).
        patience: Optimizer steps without an improvement before the run stops; checked at
            every validation (every monitor.val_every steps).
        min_delta: How much better than the best so far a value must be to count as an
            improvement.
        mode: min (lower is better) or max.
    """

    monitor: str = "auto"
    patience: int = 500
    min_delta: float = 0.0
    mode: str = "min"

    def __post_init__(self) -> None:
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or (
            self.patience < 1
        ):
            raise ConfigurationError(
                f"early_stop: patience = {self.patience!r}; give a number of steps >= 1, e.g. "
                "callbacks.early_stop.patience=500."
            )
        if not (math.isfinite(self.min_delta) and self.min_delta >= 0):
            raise ConfigurationError(
                f"early_stop: min_delta = {self.min_delta!r}; give a finite number >= 0, e.g. "
                "callbacks.early_stop.min_delta=1e-5."
            )
        if self.mode not in _MODES:
            raise ConfigurationError(
                f"early_stop: mode = {self.mode!r}; use min (lower is better) or max."
            )
        if not self.monitor:
            raise ConfigurationError(
                "early_stop: monitor is empty; give val/rel_l2, train/loss, "
                "train/loss/<constraint> or auto."
            )


def build_early_stop(params: EarlyStopParams) -> pl.Callback:
    """The early-stopping callback of ``params``."""
    from deepinn.training.service._early_stop import EarlyStop

    return EarlyStop(params.monitor, params.patience, params.min_delta, params.mode)


@hookimpl
def deepinn_callbacks() -> list[Registration]:
    return [
        Registration(
            "early_stop", build_early_stop, EarlyStopParams,
            "stop when val/rel_l2 or the loss has not improved for `patience` steps",
        )
    ]
