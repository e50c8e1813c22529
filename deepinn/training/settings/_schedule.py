"""Learning-rate schedules by name, and the checks the optimizer presets share."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Optional

import torch

from deepinn._errors import ConfigurationError, unknown_name_message

__all__ = [
    "SCHEDULERS", "SchedulerConfig", "check_adam", "fast_kernels", "non_negative", "positive"
]

SCHEDULERS: tuple[str, ...] = (
    "none", "exponential", "step", "cosine", "warmup", "warmup_exponential"
)
"""Learning-rate schedules by name; see :class:`SchedulerConfig`."""


def positive(where: str, **values: float) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not (value > 0 and math.isfinite(value)):
            raise ConfigurationError(
                f"{where}.{key} = {value!r}; use a finite number > 0."
            )


def non_negative(where: str, **values: float) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not (value >= 0 and math.isfinite(value)):
            raise ConfigurationError(f"{where}.{key} = {value!r}; use a finite number >= 0.")


_FUSED_DEVICES = ("cpu", "cuda")


def fast_kernels(optimizer: Any, params: Any, **options: Any) -> torch.optim.Optimizer:
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


def check_adam(lr: float, betas: list[float], weight_decay: float = 0.0) -> None:
    positive("optimizer", lr=lr)
    non_negative("optimizer", weight_decay=weight_decay)
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
        positive(where, gamma=self.gamma, decay_steps=self.decay_steps)
        non_negative(where, warmup_steps=self.warmup_steps, min_lr_ratio=self.min_lr_ratio)
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
