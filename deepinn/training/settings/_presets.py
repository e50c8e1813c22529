"""Named, typed optimizer and learning-rate-schedule presets.

A configuration chooses an optimizer by name (``optimizer=adam_lbfgs``) and sets its numbers
(``optimizer.adam_steps=2000 optimizer.lbfgs.tolerance_grad=1e-10``); it never names an import
path, so no configuration file can run code. Each preset is a dataclass whose fields are its
parameters, checked when it is built, and whose :meth:`phases` gives the :class:`Phase` list the
training module runs. The quasi-Newton and preconditioned presets live in
:mod:`deepinn.training.settings._presets_second`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Optional, Union

import torch

from deepinn._errors import ConfigurationError
from deepinn.training.settings._optim import DTYPES, Phase
from deepinn.training.settings._presets_second import (
    AdamSSBFGSConfig,
    AdamSSBroydenConfig,
    SOAPConfig,
    SSBFGSConfig,
    SSBroydenConfig,
)
from deepinn.training.settings._schedule import SCHEDULERS, SchedulerConfig
from deepinn.training.settings._schedule import check_adam as _check_adam
from deepinn.training.settings._schedule import fast_kernels as _fast_kernels
from deepinn.training.settings._schedule import non_negative as _non_negative
from deepinn.training.settings._schedule import positive as _positive

__all__ = [
    "OPTIMIZER_PRESETS",
    "SCHEDULERS",
    "AdamConfig",
    "AdamLBFGSConfig",
    "AdamWConfig",
    "LBFGSConfig",
    "OptimizerConfig",
    "SGDConfig",
    "SchedulerConfig",
    "adam",
    "adam_lbfgs",
    "lbfgs",
]

@dataclass
class LBFGSConfig:
    """``optimizer=lbfgs``: L-BFGS with a strong Wolfe line search, one iteration per step.

    It runs until ``trainer.max_steps`` or until its tolerances are met, and says why it stopped.

    Attributes:
        history_size: Curvature pairs kept.
        max_eval: Line-search evaluations per iteration (torch counts them against max_eval).
        tolerance_grad: Stop when max |gradient| is below this.
        tolerance_change: Stop when the loss or the update changes less than this.
        dtype: ``float64`` switches the network and the points to float64 for this phase (after
            a float32 Adam phase, say); null keeps the run's dtype.
    """

    name: str = "lbfgs"
    history_size: int = 50
    max_eval: int = 25
    tolerance_grad: float = 1e-12
    tolerance_change: float = 1e-15
    dtype: Optional[str] = None  # OmegaConf needs Optional

    def __post_init__(self) -> None:
        _positive("optimizer", history_size=self.history_size, max_eval=self.max_eval)
        _non_negative(
            "optimizer", tolerance_grad=self.tolerance_grad, tolerance_change=self.tolerance_change
        )
        if self.dtype is not None and self.dtype not in DTYPES:
            raise ConfigurationError(
                f"optimizer dtype = {self.dtype!r}; valid values are {list(DTYPES)} or null."
            )

    def phase(self, steps: int | None = None) -> Phase:
        """The L-BFGS phase, for ``steps`` steps (None: until max_steps)."""
        factory = functools.partial(
            torch.optim.LBFGS,
            lr=1.0,
            max_iter=1,
            max_eval=self.max_eval,
            history_size=self.history_size,
            line_search_fn="strong_wolfe",
            tolerance_grad=self.tolerance_grad,
            tolerance_change=self.tolerance_change,
        )
        return Phase(factory, steps=steps, dtype=self.dtype)

    def phases(self, max_steps: int) -> list[Phase]:
        """One L-BFGS phase for every step."""
        return [self.phase()]


@dataclass
class AdamConfig:
    """``optimizer=adam``: Adam for every step (fused/foreach kernels where torch has them).

    Attributes:
        lr: Learning rate.
        betas: Adam's two moment decay rates.
        weight_decay: L2 penalty added to the gradient.
        scheduler: The learning-rate schedule.
    """

    name: str = "adam"
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)

    def __post_init__(self) -> None:
        _check_adam(self.lr, self.betas, self.weight_decay)

    def _factory(self) -> functools.partial[torch.optim.Optimizer]:
        return functools.partial(
            _fast_kernels, torch.optim.Adam, lr=self.lr, betas=tuple(self.betas),
            weight_decay=self.weight_decay,
        )

    def phases(self, max_steps: int) -> list[Phase]:
        """One Adam phase for every step."""
        return [Phase(self._factory(), scheduler=self.scheduler.build(max_steps))]


@dataclass
class AdamWConfig:
    """``optimizer=adamw``: Adam with decoupled weight decay, for every step."""

    name: str = "adamw"
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 1e-2
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)

    def __post_init__(self) -> None:
        _check_adam(self.lr, self.betas, self.weight_decay)

    def phases(self, max_steps: int) -> list[Phase]:
        """One AdamW phase for every step."""
        factory = functools.partial(
            _fast_kernels, torch.optim.AdamW, lr=self.lr, betas=tuple(self.betas),
            weight_decay=self.weight_decay,
        )
        return [Phase(factory, scheduler=self.scheduler.build(max_steps))]


@dataclass
class SGDConfig:
    """``optimizer=sgd``: stochastic gradient descent with momentum, for every step."""

    name: str = "sgd"
    lr: float = 1e-2
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)

    def __post_init__(self) -> None:
        _positive("optimizer", lr=self.lr)
        _non_negative("optimizer", momentum=self.momentum, weight_decay=self.weight_decay)
        if self.nesterov and self.momentum == 0:
            raise ConfigurationError("optimizer.nesterov = true needs optimizer.momentum > 0.")

    def phases(self, max_steps: int) -> list[Phase]:
        """One SGD phase for every step."""
        factory = functools.partial(
            torch.optim.SGD, lr=self.lr, momentum=self.momentum, nesterov=self.nesterov,
            weight_decay=self.weight_decay,
        )
        return [Phase(factory, scheduler=self.scheduler.build(max_steps))]


@dataclass
class AdamLBFGSConfig:
    """``optimizer=adam_lbfgs``: Adam for ``adam_steps`` steps, then L-BFGS until max_steps.

    Attributes:
        adam_steps: Steps of the Adam phase.
        lr: Adam's learning rate.
        betas: Adam's moment decay rates.
        scheduler: Adam's learning-rate schedule (over its ``adam_steps``).
        lbfgs: The L-BFGS phase's settings (``optimizer.lbfgs.dtype=float64`` ...).
    """

    name: str = "adam_lbfgs"
    adam_steps: int = 1000
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    lbfgs: LBFGSConfig = field(default_factory=LBFGSConfig)

    def __post_init__(self) -> None:
        _positive("optimizer", adam_steps=self.adam_steps)
        _check_adam(self.lr, self.betas)

    def phases(self, max_steps: int) -> list[Phase]:
        """Adam for ``adam_steps``, then L-BFGS."""
        adam = AdamConfig(lr=self.lr, betas=list(self.betas), scheduler=self.scheduler)
        first = adam.phases(self.adam_steps)[0]
        first.steps = self.adam_steps
        return [first, self.lbfgs.phase()]


OptimizerConfig = Union[
    AdamConfig, AdamWConfig, SGDConfig, LBFGSConfig, AdamLBFGSConfig, SSBroydenConfig,
    SSBFGSConfig, AdamSSBroydenConfig, AdamSSBFGSConfig, SOAPConfig,
]

OPTIMIZER_PRESETS: dict[str, type] = {
    "adam": AdamConfig,
    "adamw": AdamWConfig,
    "sgd": SGDConfig,
    "lbfgs": LBFGSConfig,
    "adam_lbfgs": AdamLBFGSConfig,
    "ssbroyden": SSBroydenConfig,
    "ssbfgs": SSBFGSConfig,
    "adam_ssbroyden": AdamSSBroydenConfig,
    "adam_ssbfgs": AdamSSBFGSConfig,
    "soap": SOAPConfig,
}
"""Every optimizer preset by name (the options of the ``optimizer`` config group)."""


def adam(lr: float = 1e-3) -> list[Phase]:
    """Adam for every step (the ``adam`` preset)."""
    return AdamConfig(lr=lr).phases(0)


def lbfgs(
    history_size: int = 50, tolerance_grad: float = 1e-12, tolerance_change: float = 1e-15
) -> Phase:
    """One L-BFGS phase (strong Wolfe line search, one iteration per optimizer step)."""
    return LBFGSConfig(
        history_size=history_size, tolerance_grad=tolerance_grad, tolerance_change=tolerance_change
    ).phase()


def adam_lbfgs(
    adam_steps: int = 1000, lr: float = 1e-3, lbfgs_dtype: str | None = None
) -> list[Phase]:
    """Adam for ``adam_steps`` steps, then L-BFGS (in ``lbfgs_dtype`` if given) until max_steps."""
    config = AdamLBFGSConfig(adam_steps=adam_steps, lr=lr, lbfgs=LBFGSConfig(dtype=lbfgs_dtype))
    return config.phases(0)
