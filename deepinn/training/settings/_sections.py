"""The sections of a run's configuration: ``monitor.*``, ``weighting.*``, ``causal.*`` and
``marching.*``, each knob with its default, its check and its description."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from deepinn._errors import ConfigurationError, unknown_name_message

__all__ = ["WEIGHTINGS", "CausalConfig", "MarchingConfig", "MonitorConfig", "WeightingConfig"]

WEIGHTINGS = ("none", "grad_norm", "ntk")
"""``none``: every balancing weight is 1; ``grad_norm``: weights from the constraints' gradient
norms; ``ntk``: from the traces of their NTK blocks (:mod:`deepinn.training.toolbox._weighting`)."""


def check_int(
    key: str, value: Any, minimum: int, allow_none: bool = False, example: str = ""
) -> None:
    """Refuse ``value`` for ``key`` unless it is an integer >= ``minimum`` (or None, allowed);
    ``example`` ends the message (``" (e.g. 16)"``)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigurationError(
            f"{key} = {value!r}; use {what}{' or null' if allow_none else ''}{example}."
        )


def _check_name(key: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(
            f"{key} = {value!r}; give the name of the time coordinate, e.g. 't'."
        )


@dataclass
class MonitorConfig:
    """How often the run logs, validates and checkpoints (in optimizer steps).

    Every interval is a positive number of steps; ``val_every`` and ``checkpoint_every`` may be
    null for their defaults (a tenth of ``max_steps``; ``val_every``). No interval is "off" by
    0: to see something rarely, give a number larger than ``trainer.max_steps``. Under the
    default ``val_every`` the figures are drawn within a share of the run's time (see
    :meth:`RunConfig.figure_share`); a ``val_every`` given draws one at every validation.
    """

    log_every: int = 10  # losses and learning rate to TensorBoard
    val_every: Optional[int] = None  # rel_l2 and figures; null: max_steps / 10
    grad_norm_every: int = 50  # per-layer gradient norms
    histogram_every: int = 500  # weight and gradient histograms
    checkpoint_every: Optional[int] = None  # last/best checkpoints; null: val_every

    def __post_init__(self) -> None:
        for key in ("log_every", "grad_norm_every", "histogram_every"):
            check_int(f"monitor.{key}", getattr(self, key), 1)
        for key in ("val_every", "checkpoint_every"):
            check_int(f"monitor.{key}", getattr(self, key), 1, allow_none=True)


@dataclass
class WeightingConfig:
    """Loss balancing (``weighting.*``).

    Attributes:
        name: ``none``, ``grad_norm`` or ``ntk`` (see :data:`WEIGHTINGS`).
        alpha: Moving-average factor of the weights (0: the newest weights only).
        every: Update the weights every this many optimizer steps.
        ntk_rows: ``ntk``: rows of each constraint's batch the NTK trace is estimated on.
    """

    name: str = "none"
    alpha: float = 0.9
    every: int = 100
    ntk_rows: int = 32

    def __post_init__(self) -> None:
        if self.name not in WEIGHTINGS:
            raise ConfigurationError(
                unknown_name_message(
                    "weighting.name", str(self.name), WEIGHTINGS, plural="weightings",
                    listed="Valid",
                )
            )
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not (
            0.0 <= self.alpha < 1.0
        ):
            raise ConfigurationError(
                f"weighting.alpha = {self.alpha!r}; use a number in [0, 1) (e.g. 0.9)."
            )
        check_int("weighting.every", self.every, 1, example=" of steps (e.g. 100)")
        check_int("weighting.ntk_rows", self.ntk_rows, 1, example=" of rows (e.g. 32)")

    @property
    def enabled(self) -> bool:
        return self.name != "none"


@dataclass
class CausalConfig:
    """Causal weighting of the PDE residual in time (``causal.*``).

    Attributes:
        tol: epsilon in ``w_i = exp(-tol * sum_{k<i} L_k)``; 0 switches causal training off.
        chunks: M, the number of time chunks (1: the plain loss).
        time: The name of the time coordinate of the problem's space.
    """

    tol: float = 0.0
    chunks: int = 16
    time: str = "t"

    def __post_init__(self) -> None:
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float)) or not (
            math.isfinite(self.tol) and self.tol >= 0
        ):
            raise ConfigurationError(
                f"causal.tol = {self.tol!r}; use a finite number >= 0 (0: causal training off)."
            )
        check_int("causal.chunks", self.chunks, 1, example=" (e.g. 16)")
        _check_name("causal.time", self.time)

    @property
    def enabled(self) -> bool:
        return self.tol > 0


@dataclass
class MarchingConfig:
    """Time marching (``marching.*``).

    Attributes:
        windows: The number of equal time windows trained one after the other (1: off). Each
            window trains for ``trainer.max_steps`` steps with the configured optimizer phases.
        time: The name of the time coordinate of the problem's space.
    """

    windows: int = 1
    time: str = "t"

    def __post_init__(self) -> None:
        check_int(
            "marching.windows", self.windows, 1,
            example=" (1: no time marching, e.g. 10 for ten time windows)",
        )
        _check_name("marching.time", self.time)

    @property
    def enabled(self) -> bool:
        return self.windows > 1
