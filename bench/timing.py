"""Lightning callbacks that time optimizer steps and record the error at each validation.

Used by the benchmark workers (``bench/accuracy.py``, ``bench/speed.py``); nothing here changes
what a run computes.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl

__all__ = [
    "CycleTimer", "ErrorRecorder", "PairedPlainLoop", "StepTimer", "peak_rss_mib", "steady_median",
]


def peak_rss_mib() -> float:
    """The peak resident memory of this process so far, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def steady_median(seconds: list[float], skip: float = 0.1, minimum_skip: int = 3) -> float | None:
    """The median of ``seconds`` after dropping the warm-up (the first ``skip`` fraction)."""
    if not seconds:
        return None
    start = min(max(minimum_skip, int(len(seconds) * skip)), len(seconds) - 1)
    return statistics.median(seconds[start:])


class _FirstLoss(pl.Callback):
    """Records the total loss of the first step (its first backward: a batch runs several)."""

    first_loss: float | None = None

    def on_before_backward(self, trainer: pl.Trainer, pl_module: Any, loss: Any) -> None:
        if self.first_loss is None:
            self.first_loss = float(loss)


class StepTimer(_FirstLoss):
    """Wall (and process CPU) time of every optimizer step (``training_step``: forward, residuals,
    backward, update).

    Attributes:
        seconds: One entry per step, in order.
        phases: The optimizer phase index of each step (Adam, then L-BFGS, ...).
        first_loss: The total loss of the first step (to check two implementations agree).
    """

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self.phases: list[int] = []
        self.first_loss: float | None = None
        self._start = 0.0
        self._cpu_start = 0.0
        self._step = 0

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()
        self._step = trainer.global_step

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        from deepinn.training.settings._optim import phase_at

        steps = max(1, trainer.global_step - self._step)  # a batch runs several steps
        self.seconds += [(time.perf_counter() - self._start) / steps] * steps
        self.cpu_seconds += [(time.process_time() - self._cpu_start) / steps] * steps
        self.phases += [phase_at(pl_module.phases, self._step + i) for i in range(steps)]

    def summary(self) -> dict[str, Any]:
        """Median ms per step over the steady part, overall and per phase."""
        per_phase = {}
        for phase in sorted(set(self.phases)):
            times = [s for s, p in zip(self.seconds, self.phases, strict=True) if p == phase]
            median = steady_median(times)
            per_phase[str(phase)] = {"steps": len(times), "ms_per_step": median and 1e3 * median}
        median = steady_median(self.seconds)
        cpu_median = steady_median(self.cpu_seconds)
        return {
            "steps": len(self.seconds),
            "ms_per_step": median and 1e3 * median,
            "cpu_ms_per_step": cpu_median and 1e3 * cpu_median,
            "train_s": sum(self.seconds),
            "train_cpu_s": sum(self.cpu_seconds),
            "per_phase": per_phase,
            "first_loss": self.first_loss,
        }


class CycleTimer(_FirstLoss):
    """Wall and process CPU time of every step's whole cycle.

    A batch is timed from one ``on_train_batch_end`` to the next (Lightning's loop, data fetching
    and hooks included, unlike :class:`StepTimer`), less any validation run in between, and
    divided among the optimizer steps it ran (deepinn runs several per batch).

    Attributes:
        seconds, cpu_seconds: One entry per step, in order.
        first_loss: deepinn's total loss of the first step.
    """

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self.first_loss: float | None = None
        self._mark: tuple[float, float] | None = None
        self._validation_start = (0.0, 0.0)
        self._step = 0

    @staticmethod
    def _now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def on_train_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self._mark = self._now()
        self._step = trainer.global_step

    def on_validation_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self._validation_start = self._now()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if self._mark is not None:  # the validation's time is not the step's
            now, start = self._now(), self._validation_start
            self._mark = (self._mark[0] + now[0] - start[0], self._mark[1] + now[1] - start[1])

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now = self._now()
        steps = max(1, trainer.global_step - self._step)  # a batch runs several steps
        self._step = trainer.global_step
        if self._mark is not None:
            self.seconds += [(now[0] - self._mark[0]) / steps] * steps
            self.cpu_seconds += [(now[1] - self._mark[1]) / steps] * steps
        self.after_step()
        self._mark = self._now()

    def after_step(self) -> None:
        """Work between two timed steps that is not theirs (nothing here)."""


class PairedPlainLoop(CycleTimer):
    """Times deepinn's step cycles and, interleaved with them, a plain-loop step function.

    After every ``block`` deepinn steps, ``plain_step`` runs ``block`` times, outside deepinn's
    figure, timed as one block (each of its steps gets the block's mean). Both are timed under
    the same machine conditions, which a shared machine does not keep from one minute to the next.

    Attributes:
        plain_seconds, plain_cpu_seconds: The paired plain steps.
    """

    def __init__(self, plain_step: Callable[[], None], block: int = 10) -> None:
        super().__init__()
        self.plain_step = plain_step
        self.block = block
        self.plain_seconds: list[float] = []
        self.plain_cpu_seconds: list[float] = []
        self._paired = 0

    def after_step(self) -> None:
        while len(self.seconds) >= self._paired + self.block:  # a block per block of steps
            self._paired += self.block
            start = self._now()
            for _ in range(self.block):
                self.plain_step()
            end = self._now()
            # timed as a whole, as deepinn's batches of steps are: the first step after the other
            # side's block (cold caches) counts on both sides
            self.plain_seconds += [(end[0] - start[0]) / self.block] * self.block
            self.plain_cpu_seconds += [(end[1] - start[1]) / self.block] * self.block


class ErrorRecorder(pl.Callback):
    """At each validation: the step, the wall time since fit start, the summed optimizer-step time
    and the logged errors (``val/rel_l2``, ``val/coefficient_error/*``)."""

    def __init__(self, timer: StepTimer | CycleTimer) -> None:
        self.timer = timer
        self.history: list[dict[str, float]] = []
        self._start = 0.0
        self._cpu_start = 0.0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        record = {
            "step": float(trainer.global_step),
            "wall_s": time.perf_counter() - self._start,
            "cpu_s": time.process_time() - self._cpu_start,
            "train_s": sum(self.timer.seconds),
        }
        for key, value in trainer.callback_metrics.items():
            if key.startswith("val/"):
                record[key] = float(value)
        self.history.append(record)

    def first_below(self, key: str, target: float) -> dict[str, float] | None:
        """The first validation at which ``key`` was at most ``target`` (None if never)."""
        for record in self.history:
            if key in record and record[key] <= target:
                return record
        return None
