"""Named, typed optimizer and learning-rate-schedule presets.

A configuration chooses an optimizer by name (``optimizer=adam_lbfgs``) and sets its numbers
(``optimizer.adam_steps=2000 optimizer.lbfgs.tolerance_grad=1e-10``); it never names an import
path, so no configuration file can run code. Each preset is a dataclass whose fields are its
parameters, checked when it is built, and whose :meth:`phases` gives the :class:`Phase` list the
training module runs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import torch

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.training.settings._optim import DTYPES, Phase

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

SCHEDULERS: tuple[str, ...] = (
    "none", "exponential", "step", "cosine", "warmup", "warmup_exponential"
)
"""Learning-rate schedules by name; see :class:`SchedulerConfig`."""


def _positive(where: str, **values: float) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not (value > 0 and math.isfinite(value)):
            raise ConfigurationError(
                f"{where}.{key} = {value!r}; use a finite number > 0."
            )


def _non_negative(where: str, **values: float) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not (value >= 0 and math.isfinite(value)):
            raise ConfigurationError(f"{where}.{key} = {value!r}; use a finite number >= 0.")


_FUSED_DEVICES = ("cpu", "cuda")


def _fast_kernels(optimizer: Any, params: Any, **options: Any) -> torch.optim.Optimizer:
    """``optimizer`` with torch's fused kernel where the parameters' device has one (CPU, CUDA:
    one kernel for the whole update instead of a dozen per tensor), else the default."""
    params = list(params)
    tensors = [p for p in params if isinstance(p, torch.Tensor)] or [
        t for group in params if isinstance(group, dict) for t in group["params"]
    ]
    fusable = all(t.device.type in _FUSED_DEVICES and t.is_floating_point() for t in tensors)
    if tensors and fusable and len({t.device for t in tensors}) == 1:
        return optimizer(params, fused=True, **options)
    return optimizer(params, **options)


def _check_adam(lr: float, betas: list[float], weight_decay: float = 0.0) -> None:
    _positive("optimizer", lr=lr)
    _non_negative("optimizer", weight_decay=weight_decay)
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ConfigurationError(f"optimizer.betas = {list(betas)}; give two numbers in [0, 1).")


class _Factor:
    """The schedule's learning-rate factor at a step (a class, not a lambda: picklable)."""

    def __init__(self, config: SchedulerConfig, horizon: int) -> None:
        self.config = config
        self.horizon = max(1, horizon)

    def __call__(self, step: int) -> float:
        c = self.config
        warmup = c.warmup_steps if c.name in ("warmup", "warmup_exponential", "cosine") else 0
        if step < warmup:
            return (step + 1) / warmup
        step -= warmup
        if c.name == "exponential" or c.name == "warmup_exponential":
            return float(c.gamma ** (step / c.decay_steps))
        if c.name == "step":
            return float(c.gamma ** (step // c.decay_steps))
        if c.name == "cosine":
            span = max(1, self.horizon - warmup)
            floor = c.min_lr_ratio
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, span) / span))
        return 1.0


_SCHEDULE_USES: dict[str, tuple[str, ...]] = {
    "none": (),
    "exponential": ("gamma", "decay_steps"),
    "step": ("gamma", "decay_steps"),
    "cosine": ("warmup_steps", "min_lr_ratio"),
    "warmup": ("warmup_steps",),
    "warmup_exponential": ("warmup_steps", "gamma", "decay_steps"),
}
"""The settings each schedule reads (any other must stay at its default)."""

_SCHEDULER_DEFAULTS = {"gamma": 0.9, "decay_steps": 1000, "warmup_steps": 0, "min_lr_ratio": 0.0}


@dataclass
class SchedulerConfig:
    """A learning-rate schedule, stepped once per optimizer step.

    Attributes:
        name: Not set (null): no schedule, and the settings below must keep their defaults
            (a setting given without a schedule would change nothing); ``none``: scheduling
            switched off, the settings kept (one switch turns a configured schedule off and
            on); ``exponential`` (lr * gamma ** (step / decay_steps), smooth); ``step``
            (lr * gamma ** floor(step / decay_steps)); ``cosine`` (cosine decay from lr to
            lr * min_lr_ratio over the phase, after warmup_steps of linear warm-up);
            ``warmup`` (linear warm-up over warmup_steps, then constant); ``warmup_exponential``
            (linear warm-up, then exponential decay: the schedule of Wang et al.'s expert guide).
        gamma: Decay factor per ``decay_steps`` (exponential, step, warmup_exponential).
        decay_steps: Steps per decay by ``gamma``.
        warmup_steps: Steps of linear warm-up from lr / warmup_steps to lr.
        min_lr_ratio: Cosine: the final learning rate as a fraction of lr.
    """

    name: Optional[str] = None
    gamma: float = _SCHEDULER_DEFAULTS["gamma"]
    decay_steps: int = int(_SCHEDULER_DEFAULTS["decay_steps"])
    warmup_steps: int = int(_SCHEDULER_DEFAULTS["warmup_steps"])
    min_lr_ratio: float = _SCHEDULER_DEFAULTS["min_lr_ratio"]

    def __post_init__(self) -> None:
        if self.name is None:
            self._refuse_settings_without_a_schedule()
        elif self.name not in SCHEDULERS:
            raise ConfigurationError(
                unknown_name_message("scheduler", self.name, SCHEDULERS, listed="Valid")
                + " Set it with optimizer.scheduler.name=<schedule>."
            )
        where = "optimizer.scheduler"
        _positive(where, gamma=self.gamma, decay_steps=self.decay_steps)
        _non_negative(where, warmup_steps=self.warmup_steps, min_lr_ratio=self.min_lr_ratio)
        name = self.name or "none"
        if name.startswith("warmup") and self.warmup_steps < 1:
            raise ConfigurationError(
                f"{where}.name = {self.name!r} needs optimizer.scheduler.warmup_steps >= 1 "
                f"(got {self.warmup_steps})."
            )
        # A setting the chosen schedule does not read is refused ("none" switches scheduling off
        # and keeps the others, so one switch turns a configured schedule off and on).
        used = _SCHEDULE_USES[name]
        for key in ("gamma", "decay_steps", "warmup_steps", "min_lr_ratio"):
            ignored = name != "none" and key not in used
            if ignored and getattr(self, key) != _SCHEDULER_DEFAULTS[key]:
                users = [name for name, keys in _SCHEDULE_USES.items() if key in keys]
                raise ConfigurationError(
                    f"{where}.{key} = {getattr(self, key)!r} changes nothing with {where}.name="
                    f"{self.name}; it is used by {', '.join(users)}. Drop it or pick one of those."
                )
        if self.min_lr_ratio > 1:
            raise ConfigurationError(
                f"{where}.min_lr_ratio = {self.min_lr_ratio}; use a fraction in [0, 1]."
            )

    def _refuse_settings_without_a_schedule(self) -> None:
        for key, default in _SCHEDULER_DEFAULTS.items():
            if getattr(self, key) != default:
                users = [name for name, keys in _SCHEDULE_USES.items() if key in keys]
                raise ConfigurationError(
                    f"optimizer.scheduler.{key} = {getattr(self, key)!r} changes nothing: no "
                    "schedule is chosen (optimizer.scheduler.name is not set). Choose one that "
                    f"uses it, optimizer.scheduler.name=<{'|'.join(users)}>, or drop it."
                )

    def build(self, horizon: int) -> functools.partial[torch.optim.lr_scheduler.LambdaLR] | None:
        """The scheduler factory for a phase of ``horizon`` steps (None for ``none``)."""
        if self.name in (None, "none"):
            return None
        factor = _Factor(self, horizon)
        return functools.partial(torch.optim.lr_scheduler.LambdaLR, lr_lambda=factor)


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


OptimizerConfig = Union[AdamConfig, AdamWConfig, SGDConfig, LBFGSConfig, AdamLBFGSConfig]

OPTIMIZER_PRESETS: dict[str, type] = {
    "adam": AdamConfig,
    "adamw": AdamWConfig,
    "sgd": SGDConfig,
    "lbfgs": LBFGSConfig,
    "adam_lbfgs": AdamLBFGSConfig,
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
