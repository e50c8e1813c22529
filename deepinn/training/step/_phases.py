"""The optimizer phases of a training module: their optimizers and schedulers, which phase runs
a step (a phase that stops by itself hands over to the next), their state in a checkpoint as
plain data, and on resume the configuration's settings over the checkpoint's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from deepinn.training.service._progress import log_line
from deepinn.training.settings._optim import LBFGSMonitor, Phase

__all__ = [
    "PhaseOptimizers", "load_phase_state", "plain_scheduler_state", "save_phase_state",
    "stop_reason",
]

_SCHEDULED = ("lr", "initial_lr")  # a scheduler moves these; compared through the base rate


def _group_settings(group: Mapping[str, Any]) -> dict[str, Any]:
    """A param group's settings (no parameters): ``lr`` is the base rate (``initial_lr`` when a
    scheduler set one), so a decayed rate is not mistaken for a changed setting."""
    settings = {k: v for k, v in group.items() if k not in ("params", *_SCHEDULED)}
    settings["lr"] = group.get("initial_lr", group.get("lr"))
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}


def _apply_setting(
    group: dict[str, Any], key: str, value: Any, scheduler: Any, number: int
) -> None:
    """Set ``key`` of a restored param group; a new base ``lr`` rescales the scheduled rate."""
    if key != "lr":
        group[key] = tuple(value) if isinstance(group.get(key), tuple) else value
        return
    base = group.get("initial_lr", group["lr"])
    group["lr"] = group["lr"] * value / base if base else value
    if "initial_lr" in group:
        group["initial_lr"] = value
    if scheduler is not None and hasattr(scheduler, "base_lrs"):
        scheduler.base_lrs[number] = value


def plain_scheduler_state(state: Any) -> Any:
    """A scheduler's ``state_dict()`` as plain data, for a weights-only checkpoint.

    ``LambdaLR`` stores the ``__dict__`` of a callable-object factor (deepinn's schedules keep
    their settings there); a weights-only load refuses such objects, so each factor's entry is
    stored as None, as torch stores a plain function's. The schedule's shape then comes from the
    resumed run's configuration; its progress (``last_epoch``, base rates, last rates) from the
    checkpoint. Nested schedulers (``SequentialLR``'s ``_schedulers``) are handled alike.
    """
    if isinstance(state, dict):
        return {
            key: [None] * len(value) if key == "lr_lambdas" and isinstance(value, list)
            else plain_scheduler_state(value)
            for key, value in state.items()
        }
    if isinstance(state, list):
        return [plain_scheduler_state(item) for item in state]
    return state


def stop_reason(optimizer: Any) -> str | None:
    """Why ``optimizer`` (a raw torch optimizer) stopped by itself in its last step, if it did:
    optimizers that decide it themselves (the quasi-Newton ones) say so in ``stop_reason``."""
    reason = getattr(optimizer, "stop_reason", None)
    return reason if isinstance(reason, str) else None


def save_phase_state(
    checkpoint: dict[str, Any], monitor: LBFGSMonitor, ends: Mapping[int, int] | None = None
) -> None:
    """Into ``checkpoint``: L-BFGS's convergence test (its last loss, whether it restarted), the
    steps at which phases handed over early (``ends``), and the schedulers' state as plain data
    (:func:`plain_scheduler_state`)."""
    checkpoint["deepinn_lbfgs_monitor"] = {
        "loss": monitor.loss, "restarted": monitor.restarted, "lr": monitor.lr
    }
    if ends:
        checkpoint["deepinn_phase_ends"] = {int(k): int(v) for k, v in ends.items()}
    if "lr_schedulers" in checkpoint:
        checkpoint["lr_schedulers"] = plain_scheduler_state(checkpoint["lr_schedulers"])


def load_phase_state(
    checkpoint: Mapping[str, Any], monitor: LBFGSMonitor, ends: dict[int, int] | None = None
) -> None:
    """From ``checkpoint``: L-BFGS's convergence test goes on from the checkpoint's last loss,
    and the phases that handed over early (into ``ends``) stay ended."""
    if ends is not None:
        ends.clear()
        ends.update({int(k): int(v) for k, v in checkpoint.get("deepinn_phase_ends", {}).items()})
    state = checkpoint.get("deepinn_lbfgs_monitor")
    if isinstance(state, Mapping):
        loss = state.get("loss")
        monitor.loss = None if loss is None else float(loss)
        monitor.restarted = int(state.get("restarted", 0))
        lr = state.get("lr")
        monitor.lr = None if lr is None else float(lr)


class PhaseOptimizers:
    """The optimizers and schedulers of ``phases`` for a LightningModule (which holds them).

    A phase that is not the last and whose optimizer stops by itself (L-BFGS's tolerances, a
    quasi-Newton line search that fails) hands over to the next phase at the following step:
    the later phases start that much earlier (:meth:`hand_over`). A float32 phase that stalls
    thus hands over to a float64 one when the next phase says ``dtype: float64``.

    Args:
        phases: The optimizer phases, in order.
    """

    def __init__(self, phases: Sequence[Phase]) -> None:
        self.phases = list(phases)
        self._configured: list[list[dict[str, Any]]] = []
        self.ends: dict[int, int] = {}
        """Phase index -> the step at which it handed over (saved in checkpoints)."""

    def index_at(self, step: int) -> int:
        """The index of the phase that runs optimizer step ``step`` (0-based)."""
        start = 0
        for index, phase in enumerate(self.phases):
            end = self.ends.get(index)
            if end is None and phase.steps is not None:
                end = start + phase.steps
            if end is None or step < end:
                return index
            start = end
        return len(self.phases) - 1

    def after_stop(
        self, optimizer: Any, reason: str, index: int, step: int, monitor: LBFGSMonitor,
        say: bool,
    ) -> str | None:
        """Phase ``index``'s ``optimizer`` stopped by itself at ``step`` for ``reason``: the
        next phase takes over (None; said in the log when ``say``), or, after the last phase,
        the run's stop reason."""
        name = getattr(optimizer, "label", type(optimizer).__name__)
        name = "L-BFGS" if name == "LBFGS" else name
        if not self.hand_over(index, step):
            return f"{name} {reason} at step {step}"
        monitor.loss = None  # a next L-BFGS phase starts its own test
        if say:
            log_line(f"{name} {reason} at step {step}: optimizer phase {index + 1} takes over")
        return None

    def hand_over(self, index: int, step: int) -> bool:
        """Phase ``index`` stopped by itself at ``step``: end it there, if a phase follows it
        (True); False for the last phase (the run stops)."""
        if index >= len(self.phases) - 1:
            return False
        self.ends[index] = step + 1
        return True

    def configure(self, params: list[Any]) -> tuple[list[Any], list[dict[str, Any]]]:
        """``configure_optimizers``' answer: one optimizer per phase, and the schedulers."""
        optimizers, schedulers = [], []
        for phase in self.phases:
            optimizer = phase.optimizer(params)
            optimizers.append(optimizer)
            if phase.scheduler is not None:
                schedulers.append({"scheduler": phase.scheduler(optimizer), "interval": "step"})
        # The configuration's settings, before a resumed checkpoint's state replaces them.
        self._configured = [
            [_group_settings(group) for group in optimizer.param_groups] for optimizer in optimizers
        ]
        return optimizers, schedulers

    def reapply(self, module: pl.LightningModule) -> list[str]:
        """After a resume, set the configuration's settings over the checkpoint's (a lower
        ``optimizer.lr`` takes effect; a scheduler keeps its progress); the changes made."""
        if not self._configured:
            return []
        optimizers = module.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        scheduler_list = self.schedulers(module) if module.trainer.lr_scheduler_configs else []
        schedulers = {id(s.optimizer): s for s in scheduler_list}
        changes = []
        pairs = zip(optimizers, self._configured, strict=False)
        for index, (wrapped, configured) in enumerate(pairs):
            raw = getattr(wrapped, "optimizer", wrapped)
            groups = zip(raw.param_groups, configured, strict=False)
            for number, (group, fresh) in enumerate(groups):
                restored = _group_settings(group)
                for key, value in fresh.items():
                    if key in restored and restored[key] != value:
                        changes.append(f"optimizer {index} {key}: {restored[key]!r} -> {value!r}")
                        _apply_setting(group, key, value, schedulers.get(id(raw)), number)
        return changes

    def objects(self, module: pl.LightningModule, index: int) -> tuple[Any, Any]:
        """Phase ``index``'s (Lightning-wrapped) optimizer and its scheduler (or None)."""
        optimizers = module.optimizers()
        optimizer = optimizers[index] if isinstance(optimizers, list) else optimizers
        scheduler = None
        if self.phases[index].scheduler is not None:
            position = sum(1 for p in self.phases[:index] if p.scheduler is not None)
            scheduler = self.schedulers(module)[position]
        return optimizer, scheduler

    @staticmethod
    def schedulers(module: pl.LightningModule) -> list[LRScheduler | ReduceLROnPlateau]:
        """The configured learning-rate schedulers as a list (empty when there are none)."""
        found = module.lr_schedulers()
        if isinstance(found, list):
            return found
        return [s for s in (found,) if s is not None]
