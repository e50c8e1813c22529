"""Early stopping on a measured value: the relative L2 error, the loss, or one loss term.

The callback is registered as ``callbacks=[early_stop]`` by the built-in plugin
:mod:`deepinn.plugins._builtin_callbacks`; it reads the values the run measures itself (the
validation's metrics, the module's last losses), not TensorBoard's logged copies, so it works
with or without a logger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch

from deepinn._errors import ConfigurationError
from deepinn.training.step._validation import logged_name

__all__ = ["AUTO", "LOSS", "VALIDATION_ERROR", "EarlyStop"]

AUTO = "auto"
"""``monitor=auto``: the validation error where the problem has a solution, else the loss."""
VALIDATION_ERROR = "val/rel_l2"
"""The relative L2 error over the evaluation set, measured every ``monitor.val_every`` steps."""
LOSS = "train/loss"
"""The total weighted loss; ``train/loss/<constraint>`` is one constraint's term."""


def _value(value: Any) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


class EarlyStop(pl.Callback):
    """Stop training when ``monitor`` has not improved by ``min_delta`` for ``patience`` steps.

    The value is checked at every validation (every ``monitor.val_every`` optimizer steps), so
    the run stops at the first check at least ``patience`` steps after the best value. Every
    DDP rank measures the same values and takes the same decision. The reason is the run's
    ``stop_reason`` (``metrics.json``). The best value and its step are kept in checkpoints,
    so a resumed run keeps counting.

    Args:
        monitor: ``val/rel_l2`` (or ``val/rel_l2/<output>``, ``val/coefficient_error/<name>``;
            TensorBoard's names ``error/rel_l2``, ... work too), ``train/loss`` (or
            ``train/loss/<constraint>``), or ``auto``.
        patience: Optimizer steps without an improvement before the run stops (>= 1).
        min_delta: The decrease (``mode=min``) that counts as an improvement (>= 0).
        mode: ``min`` (lower is better) or ``max``.
    """

    def __init__(
        self, monitor: str = AUTO, patience: int = 500, min_delta: float = 0.0, mode: str = "min"
    ) -> None:
        self.requested = monitor
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.best: float | None = None
        self.best_step = 0

    @property
    def state_key(self) -> str:
        return f"EarlyStop[{self.requested}]"

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # a fresh fit (a time-marching window) starts afresh; a resume loads the state after
        self.best, self.best_step = None, 0
        problem = getattr(pl_module, "problem", None)
        if self.requested == AUTO:
            solved = bool(getattr(problem, "has_solution", False))
            self.monitor = VALIDATION_ERROR if solved else LOSS
        elif problem is not None:
            self._check_before_training(problem)

    def _check_before_training(self, problem: Any) -> None:
        """Refuse, before any step, a loss term the problem does not have and an error the
        problem cannot measure (the other names are checked at the first validation)."""
        names = [constraint.name for constraint in problem.constraints]
        term = self.monitor.removeprefix(f"{LOSS}/")
        if term != self.monitor and term not in names:
            raise ConfigurationError(
                f"early_stop: the monitored {self.monitor!r} is not a loss term of problem "
                f"{problem.name!r}; its terms are {', '.join(f'{LOSS}/{n}' for n in names)}. "
                f"Give one of them, {LOSS}, or monitor=auto."
            )
        if "rel_l2" in self.monitor and not problem.has_solution:
            raise ConfigurationError(
                f"early_stop: the monitored {self.monitor!r} is not measured: problem "
                f"{problem.name!r} has no exact or reference solution. Give {LOSS} (or "
                f"{LOSS}/<constraint>), or monitor=auto."
            )

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "monitor": self.monitor}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict.get("monitor") == self.monitor:
            self.best, self.best_step = state_dict.get("best"), int(state_dict["best_step"])

    def _measured(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> float:
        """The monitored value now; an unknown name is refused, listing the measured ones."""
        measured: dict[str, Any] = {}
        for key, value in trainer.callback_metrics.items():
            if key.startswith("val/"):  # also by its TensorBoard tag (error/rel_l2)
                measured[key] = measured[logged_name(key)] = value
        losses: Mapping[str, Any] = getattr(pl_module, "last_losses", {})
        for name, value in losses.items():
            measured[LOSS if name == "total" else f"{LOSS}/{name}"] = value
        if self.monitor not in measured:
            known = ", ".join(sorted(measured)) or "(nothing yet)"
            hint = (
                " The relative L2 error is measured only for a problem with an exact or "
                "reference solution." if "rel_l2" in self.monitor else ""
            )
            raise ConfigurationError(
                f"early_stop: the monitored {self.monitor!r} is not measured in this run. "
                f"Measured: {known}.{hint} Give one of them, or monitor=auto."
            )
        return _value(measured[self.monitor])

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        step = trainer.global_step
        value = self._measured(trainer, pl_module)
        sign = 1.0 if self.mode == "min" else -1.0
        if math.isfinite(value) and (
            self.best is None or sign * (self.best - value) > self.min_delta
        ):
            self.best, self.best_step = value, step
            return
        stop = step - self.best_step >= self.patience
        stop = bool(trainer.strategy.reduce_boolean_decision(stop, all=False))
        if not stop:
            return
        trainer.should_stop = True
        best = "none" if self.best is None else f"{self.best:.4g} at step {self.best_step}"
        reason = (
            f"early stop at step {step}: {self.monitor} did not improve by more than "
            f"{self.min_delta:g} in {step - self.best_step} steps (patience {self.patience}; "
            f"best {best})"
        )
        setattr(pl_module, "stop_reason", reason)  # noqa: B010 (metrics.json's stop_reason)
