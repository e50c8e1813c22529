"""Optimizer presets beyond Adam and L-BFGS: full-memory self-scaled quasi-Newton (SSBroyden,
SSBFGS) in float64, alone or after Adam, and SOAP (Shampoo-preconditioned Adam).

The quasi-Newton methods keep a dense float64 inverse Hessian on the parameters' device
(:class:`~deepinn.training.optim.SelfScaledQuasiNewton`): 8 n² bytes, so they are meant for the
small networks (up to about 10,000 parameters) with which they reach the lowest errors. SOAP
comes from the ``pytorch-optimizer`` package (``pip install 'deepinn[optim]'``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import torch

from deepinn._errors import ConfigurationError, Setting
from deepinn.training.optim._quasi_newton import SelfScaledQuasiNewton
from deepinn.training.settings._optim import DTYPES, Phase
from deepinn.training.settings._schedule import (
    SchedulerConfig,
    check_adam,
    fast_kernels,
    non_negative,
    positive,
)

__all__ = [
    "AdamSSBFGSConfig",
    "AdamSSBroydenConfig",
    "SOAPConfig",
    "SSBFGSConfig",
    "SSBroydenConfig",
    "adam_ssbfgs",
    "adam_ssbroyden",
    "soap",
    "ssbfgs",
    "ssbroyden",
]


_QUASI_NEWTON = ("ssbroyden", "ssbfgs")
"""The inverse-Hessian updates a quasi-Newton preset's ``name`` chooses."""


@dataclass
class SSBroydenConfig:
    """``optimizer=ssbroyden``: full-memory self-scaled Broyden with a strong Wolfe line search.

    It runs until ``trainer.max_steps`` or until it stops by itself (max |gradient| below
    ``tolerance_grad``, or a line search that fails also along the steepest descent), and says
    why it stopped. Memory and time per step go to the log (``train/optimizer/*``).

    Attributes:
        name: The inverse-Hessian update: ``ssbroyden`` or ``ssbfgs``.
        iterations: Quasi-Newton iterations per optimizer step. Each step evaluates the loss
            once at its start; the iterations inside a step reuse the line search's last
            evaluation, so 10 iterations per step cost about a third fewer evaluations than 10
            steps of one.
        max_ls: Line-search evaluations per iteration.
        tolerance_grad: Stop when max |gradient| is at most this.
        tolerance_change: Stop when an iteration changes the loss by less than this times
            |loss| (0: never).
        dtype: ``float64`` (the default) switches the network and the points to float64 when
            this phase starts; null keeps the run's dtype.
        max_parameters: The most unknowns accepted (the dense matrix takes 8 n² bytes).
        max_seconds: Stop the run once this phase has run this many seconds (in this
            process; null: no limit), so that a run ends within a wall-clock budget.
    """

    name: str = "ssbroyden"
    iterations: int = 1
    max_ls: int = 25
    tolerance_grad: float = 1e-12
    tolerance_change: float = 0.0
    dtype: Optional[str] = "float64"  # OmegaConf needs Optional
    max_parameters: int = 20_000
    max_seconds: Optional[float] = None

    where: ClassVar[str] = "optimizer"
    """The configuration path of these settings, named in the messages."""

    def __post_init__(self) -> None:
        where = self.where
        if self.name not in _QUASI_NEWTON:
            raise ConfigurationError(
                f"{where}.name = {self.name!r}: the quasi-Newton update is one of "
                f"{list(_QUASI_NEWTON)}; choose it by the preset (optimizer=ssbfgs, "
                f"optimizer=adam_ssbfgs) or set it, e.g. {where}.name=ssbfgs."
            )
        counts = {"iterations": self.iterations, "max_ls": self.max_ls,
                  "max_parameters": self.max_parameters}
        for key, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigurationError(f"{where}.{key} = {value!r}; use a whole number > 0.")
        positive(where, **counts)
        if self.max_seconds is not None:
            positive(where, max_seconds=self.max_seconds)
        non_negative(where, tolerance_grad=self.tolerance_grad,
                     tolerance_change=self.tolerance_change)
        if self.dtype is not None and self.dtype not in DTYPES:
            raise ConfigurationError(
                f"{where}.dtype = {self.dtype!r}; valid values are {list(DTYPES)} or null."
            )

    @property
    def method(self) -> str:
        """The inverse-Hessian update (``ssbroyden`` or ``ssbfgs``)."""
        return self.name

    def phase(self, steps: int | None = None) -> Phase:
        """The quasi-Newton phase, for ``steps`` steps (None: until max_steps)."""
        factory = functools.partial(
            SelfScaledQuasiNewton, method=self.method, iterations=self.iterations,
            max_ls=self.max_ls, tolerance_grad=self.tolerance_grad,
            tolerance_change=self.tolerance_change, max_parameters=self.max_parameters,
            max_seconds=self.max_seconds,
        )
        return Phase(factory, steps=steps, dtype=self.dtype)

    def phases(self, max_steps: int) -> list[Phase]:
        """One quasi-Newton phase for every step."""
        return [self.phase()]


@dataclass
class SSBFGSConfig(SSBroydenConfig):
    """``optimizer=ssbfgs``: full-memory self-scaled BFGS (settings as :class:`SSBroydenConfig`)."""

    name: str = "ssbfgs"


@dataclass
class QuasiNewtonAfterAdam(SSBroydenConfig):
    """The quasi-Newton phase of ``adam_ssbroyden`` and ``adam_ssbfgs``
    (``optimizer.quasi_newton.*``; settings as :class:`SSBroydenConfig`)."""

    where: ClassVar[str] = "optimizer.quasi_newton"


def _adam_phase(
    lr: float, betas: list[float], scheduler: SchedulerConfig, steps: int
) -> Phase:
    factory = functools.partial(fast_kernels, torch.optim.Adam, lr=lr, betas=tuple(betas))
    return Phase(factory, steps=steps, scheduler=scheduler.build(steps))


@dataclass
class AdamSSBroydenConfig:
    """``optimizer=adam_ssbroyden``: Adam for ``adam_steps`` steps, then SSBroyden (in float64
    unless ``optimizer.quasi_newton.dtype`` says otherwise) until max_steps.

    Attributes:
        adam_steps: Steps of the Adam phase.
        lr: Adam's learning rate.
        betas: Adam's moment decay rates.
        scheduler: Adam's learning-rate schedule (over its ``adam_steps``).
        quasi_newton: The quasi-Newton phase's settings (:class:`SSBroydenConfig`).
    """

    name: str = "adam_ssbroyden"
    adam_steps: int = 1000
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    quasi_newton: QuasiNewtonAfterAdam = field(default_factory=QuasiNewtonAfterAdam)

    def __post_init__(self) -> None:
        positive("optimizer", adam_steps=self.adam_steps)
        check_adam(self.lr, self.betas)

    def phases(self, max_steps: int) -> list[Phase]:
        """Adam for ``adam_steps``, then the quasi-Newton phase."""
        adam = _adam_phase(self.lr, list(self.betas), self.scheduler, self.adam_steps)
        return [adam, self.quasi_newton.phase()]


@dataclass
class AdamSSBFGSConfig(AdamSSBroydenConfig):
    """``optimizer=adam_ssbfgs``: Adam, then SSBFGS (settings as :class:`AdamSSBroydenConfig`)."""

    name: str = "adam_ssbfgs"
    quasi_newton: QuasiNewtonAfterAdam = field(
        default_factory=functools.partial(QuasiNewtonAfterAdam, name="ssbfgs")
    )


def _soap(params: Any, **options: Any) -> torch.optim.Optimizer:
    try:
        from pytorch_optimizer import SOAP
    except ImportError as error:  # checked when the preset is built; kept for a pickled factory
        raise _soap_missing() from error
    return SOAP(params, **options)


def _soap_missing() -> ConfigurationError:
    return ConfigurationError(
        "optimizer=soap needs the pytorch-optimizer package, which is not installed. Install "
        "it, pip install 'deepinn[optim]' (or pip install pytorch-optimizer), or choose "
        "another optimizer: {fix}",
        fix=[Setting("optimizer", "adam", python="phases=deepinn.training.adam()")],
    )


@dataclass
class SOAPConfig:
    """``optimizer=soap``: SOAP (Adam in the eigenbasis of Shampoo's preconditioner, Vyas et
    al. 2024), from ``pytorch-optimizer``, for every step; the first-order optimizer of the
    PirateNet records, and one for GPUs and larger networks.

    Attributes:
        lr: Learning rate.
        betas: The moment decay rates.
        shampoo_beta: Decay of the preconditioner's statistics (null: ``betas[1]``).
        weight_decay: Decoupled weight decay.
        precondition_frequency: Steps between two eigenbasis updates.
        max_precondition_dim: Larger dimensions are not preconditioned.
        eps: Adam's epsilon.
        scheduler: The learning-rate schedule.
    """

    name: str = "soap"
    lr: float = 3e-3
    betas: list[float] = field(default_factory=lambda: [0.95, 0.95])
    shampoo_beta: Optional[float] = None
    weight_decay: float = 0.0
    precondition_frequency: int = 10
    max_precondition_dim: int = 10_000
    eps: float = 1e-8
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)

    def __post_init__(self) -> None:
        check_adam(self.lr, self.betas, self.weight_decay)
        positive("optimizer", precondition_frequency=self.precondition_frequency,
                 max_precondition_dim=self.max_precondition_dim, eps=self.eps)
        if self.shampoo_beta is not None and not 0 <= self.shampoo_beta < 1:
            raise ConfigurationError(
                f"optimizer.shampoo_beta = {self.shampoo_beta}; give a number in [0, 1) or null."
            )

    def phases(self, max_steps: int) -> list[Phase]:
        """One SOAP phase for every step."""
        try:
            import pytorch_optimizer  # noqa: F401
        except ImportError as error:
            raise _soap_missing() from error
        factory = functools.partial(
            _soap, lr=self.lr, betas=tuple(self.betas), shampoo_beta=self.shampoo_beta,
            weight_decay=self.weight_decay, precondition_frequency=self.precondition_frequency,
            max_precondition_dim=self.max_precondition_dim, eps=self.eps,
        )
        return [Phase(factory, scheduler=self.scheduler.build(max_steps))]


def ssbroyden(iterations: int = 1, dtype: str | None = "float64") -> Phase:
    """One SSBroyden phase (in ``dtype``; None keeps the run's), until max_steps."""
    return SSBroydenConfig(iterations=iterations, dtype=dtype).phase()


def ssbfgs(iterations: int = 1, dtype: str | None = "float64") -> Phase:
    """One SSBFGS phase (in ``dtype``; None keeps the run's), until max_steps."""
    return SSBFGSConfig(iterations=iterations, dtype=dtype).phase()


def adam_ssbroyden(
    adam_steps: int = 1000, lr: float = 1e-3, iterations: int = 1, dtype: str | None = "float64"
) -> list[Phase]:
    """Adam for ``adam_steps`` steps, then SSBroyden (in ``dtype``) until max_steps."""
    config = AdamSSBroydenConfig(
        adam_steps=adam_steps, lr=lr,
        quasi_newton=QuasiNewtonAfterAdam(iterations=iterations, dtype=dtype),
    )
    return config.phases(0)


def adam_ssbfgs(
    adam_steps: int = 1000, lr: float = 1e-3, iterations: int = 1, dtype: str | None = "float64"
) -> list[Phase]:
    """Adam for ``adam_steps`` steps, then SSBFGS (in ``dtype``) until max_steps."""
    config = AdamSSBFGSConfig(
        adam_steps=adam_steps, lr=lr,
        quasi_newton=QuasiNewtonAfterAdam(name="ssbfgs", iterations=iterations, dtype=dtype),
    )
    return config.phases(0)


def soap(lr: float = 3e-3) -> list[Phase]:
    """SOAP for every step (the ``soap`` preset)."""
    return SOAPConfig(lr=lr).phases(0)
