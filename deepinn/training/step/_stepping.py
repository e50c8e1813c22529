"""The backward and the optimizer step of a training step, without Lightning's per-call wrappers.

In manual optimisation Lightning routes ``manual_backward`` and ``LightningOptimizer.step``
through the strategy and the precision plugin, which call the ``on_before_backward``,
``on_after_backward`` and ``on_before_optimizer_step`` hooks of every callback and of the module,
whether they override them or not (a measurable part of a small PINN's step, see
``bench/profile_step.py``). With the plain precision plugins
(32- and 64-bit, the only ones deepinn offers) those wrappers do nothing else, so
:class:`Stepper` calls only the hooks that are overridden, runs the backward and the optimizer
step itself and counts the step in the loop's progress (``trainer.global_step``) as the wrapper
does. Gradient synchronisation under DDP is the module's own (``_ddp.all_reduce``), so it is
unchanged. With any other precision plugin, gradient clipping, or a Lightning whose loop does
not expose the step counter, it takes Lightning's path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.plugins.precision import DoublePrecision, Precision

__all__ = ["STEPS_PER_BATCH", "Stepper", "steps_per_batch"]

STEPS_PER_BATCH = 10
"""The most optimizer steps one Lightning batch runs.

Lightning's per-batch loop (data fetcher, hook dispatch, progress and logger bookkeeping, the
validation check) costs a fixed time per batch whatever the batch holds, a noticeable part of a
small compiled step. Ten steps per batch make it a tenth of that; a SIGTERM is then answered
within ten steps.
"""


def steps_per_batch(intervals: Iterable[int], limit: int = STEPS_PER_BATCH) -> int:
    """The optimizer steps per Lightning batch: the largest divisor of ``limit`` that divides
    every interval (in steps) Lightning acts on at batch ends.

    Those are the validation, checkpoint, progress-line and logging intervals, the resampling
    interval, ``max_steps`` and the phase boundaries: each then falls on a batch end, exactly
    where it falls with one step per batch. Intervals of 0 (off) are skipped.
    """
    result = limit
    for interval in intervals:
        if interval > 0:
            result = math.gcd(result, interval)
    return result

_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


def _overridden(owner: Any, hook: str, base: type) -> bool:
    return getattr(type(owner), hook, None) is not getattr(base, hook)


class Stepper:
    """Backward and optimizer steps for ``module`` (a manual-optimisation LightningModule).

    Build it when training starts (the trainer, its callbacks and precision are known then).
    ``direct`` says which path it takes.
    """

    def __init__(self, module: pl.LightningModule) -> None:
        trainer = module.trainer
        self.module = module
        self.hooks: dict[str, list[Callable[..., Any]]] = {}
        for hook in _HOOKS:
            calls = [
                getattr(callback, hook)
                for callback in trainer.callbacks  # type: ignore[attr-defined]
                if _overridden(callback, hook, pl.Callback)
            ]
            if _overridden(module, hook, pl.LightningModule):
                calls.append(getattr(module, hook))
            self.hooks[hook] = calls
        progress = getattr(
            getattr(getattr(trainer.fit_loop, "epoch_loop", None), "manual_optimization", None),
            "optim_step_progress",
            None,
        )
        self._progress = progress
        self.direct = (
            type(trainer.precision_plugin) in (Precision, DoublePrecision)
            and progress is not None
            and trainer.gradient_clip_val is None
        )

    def _call(self, hook: str, *args: Any) -> None:
        trainer = self.module.trainer
        for function in self.hooks[hook]:
            if getattr(function, "__self__", None) is self.module:
                function(*args)
            else:
                function(trainer, self.module, *args)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()`` between the backward hooks (``manual_backward`` otherwise)."""
        if not self.direct:
            self.module.manual_backward(loss)
            return
        self._call("on_before_backward", loss)
        loss.backward()
        self._call("on_after_backward")

    def assign(
        self,
        loss: torch.Tensor,
        parameters: Sequence[torch.Tensor],
        gradients: Sequence[torch.Tensor | None],
    ) -> None:
        """What :meth:`backward` does, for gradients computed already (a compiled loss and
        gradient): each added to its parameter's ``.grad``, between the backward hooks.
        Only on the ``direct`` path (Lightning's own backward needs a graph)."""
        assert self.direct
        self._call("on_before_backward", loss)
        for parameter, gradient in zip(parameters, gradients, strict=True):
            if gradient is not None:
                parameter.grad = gradient if parameter.grad is None else parameter.grad + gradient
        self._call("on_after_backward")

    def step(self, optimizer: Any, closure: Callable[[], torch.Tensor]) -> Any:
        """One optimizer step with ``closure``; counts one step of ``trainer.global_step``.

        Args:
            optimizer: The ``LightningOptimizer`` of ``module.optimizers()``.
            closure: Computes the loss and its gradient; returns the loss.

        Returns:
            What the optimizer's ``step`` returns (the closure's first loss).
        """
        if not self.direct:
            return optimizer.step(closure=closure)
        raw = optimizer.optimizer
        hooked = closure
        if self.hooks["on_before_optimizer_step"]:

            def hooked() -> torch.Tensor:
                loss = closure()
                self._call("on_before_optimizer_step", raw)
                return loss

        assert self._progress is not None
        self._progress.increment_ready()
        result = raw.step(closure=hooked)
        self._progress.increment_completed()
        return result
