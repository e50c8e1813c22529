"""Optimizer phases (one optimizer for a number of steps) and the L-BFGS stopping monitor."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from deepinn._errors import ConfigurationError

__all__ = ["DTYPES", "LBFGSMonitor", "Phase", "check_phases", "phase_at"]

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]


@dataclass
class Phase:
    """One optimizer used for ``steps`` optimizer steps (None: until ``max_steps``).

    Attributes:
        optimizer: Builds the optimizer from the parameters (e.g. ``functools.partial(
            torch.optim.Adam, lr=1e-3)``; Hydra: ``_target_: torch.optim.Adam, _partial_: true``).
        steps: How many optimizer steps this phase runs; the last phase may leave it None.
        scheduler: Optionally builds a learning-rate scheduler, stepped once per optimizer step.
        dtype: ``"float64"`` to switch the network and the points to float64 when this phase
            starts (typically the L-BFGS phase after float32 Adam); None keeps the dtype.
    """

    optimizer: OptimizerFactory
    steps: int | None = None
    scheduler: SchedulerFactory | None = None
    dtype: str | None = None


DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


def check_phases(phases: Sequence[Phase]) -> None:
    """Fail early on an empty list, a non-positive length or an open-ended middle phase."""
    if not phases:
        raise ConfigurationError("optimizer.phases is empty; give at least one optimizer phase.")
    for index, phase in enumerate(phases):
        if phase.steps is None and index != len(phases) - 1:
            raise ConfigurationError(
                f"optimizer.phases[{index}].steps is null but more phases follow; only the last "
                "phase may run until trainer.max_steps."
            )
        if phase.steps is not None and phase.steps <= 0:
            raise ConfigurationError(
                f"optimizer.phases[{index}].steps = {phase.steps}; use a positive number."
            )
        if phase.dtype is not None and phase.dtype not in DTYPES:
            raise ConfigurationError(
                f"optimizer.phases[{index}].dtype = {phase.dtype!r}; valid values are "
                f"{list(DTYPES)} or null."
            )


def phase_at(phases: Sequence[Phase], step: int) -> int:
    """The index of the phase that runs optimizer step ``step`` (0-based)."""
    end = 0
    for index, phase in enumerate(phases):
        if phase.steps is None:
            return index
        end += phase.steps
        if step < end:
            return index
    return len(phases) - 1


RESTART_STEP = 1e-3
"""The first step of a restarted L-BFGS, as a fraction of its usual ``min(1, 1/|g|_1)``: the
strong Wolfe line search grows a short step (up to 10x per evaluation) but a step that does not
change the loss cannot be repeated."""


class LBFGSMonitor:
    """Decides after each L-BFGS step whether it converged, and restarts a stalled one.

    torch's L-BFGS, run one iteration per optimizer step, returns without iterating when the
    gradient is below ``tolerance_grad``; the ``tolerance_change`` tests it applies between
    iterations are applied here between steps. A step that makes no progress (the loss changed
    by less than ``tolerance_change``, or the update is that small) is not taken for
    convergence at once: the history is dropped and L-BFGS restarts along the steepest descent,
    from a shorter first step (:data:`RESTART_STEP`; the line search lengthens it), since
    repeating the failed step from the same point would fail alike. A first step after Adam
    that changes nothing (a line search that ends on a step below the parameters' resolution)
    thus does not end the run as "converged". Only a restart whose own step also makes no
    progress stops it; a later phase then takes over (see ``PhaseOptimizers.hand_over``).

    ``restarted``: 0 (no restart pending), 1 (restarted after the last step: the next check
    sees the stale step's progress, not judged), 2 (the fresh step is judged at the next check).
    """

    def __init__(self) -> None:
        self.loss: float | None = None
        self.restarted = 0
        self.lr: float | None = None  # the configured lr while a restart runs on a shorter one

    def after_step(
        self, optimizer: torch.optim.LBFGS, iterations_before: int, loss: float
    ) -> str | None:
        """The reason to stop after a step that started at ``loss``, or None to go on."""
        group = optimizer.param_groups[0]
        state = optimizer.state[group["params"][0]]
        loss_before, self.loss = self.loss, loss
        if self.lr is not None:  # the restart's short first step is taken: back to the usual
            group["lr"], self.lr = self.lr, None
        if state.get("n_iter", 0) == iterations_before:
            return f"converged: max |gradient| <= tolerance_grad {group['tolerance_grad']:.1e}"
        tolerance = group["tolerance_change"]
        # The previous step's progress (right after a restart: the stale step's, not judged).
        judged = loss_before is not None and self.restarted != 1
        change = abs(loss - loss_before) if loss_before is not None else math.inf
        stalled = judged and change < tolerance
        if self.restarted == 1:
            self.restarted = 2
        elif self.restarted == 2 and judged and not stalled:
            self.restarted = 0  # the restart made progress
        direction, step_size = state.get("d"), state.get("t")
        update = float(direction.mul(step_size).abs().max()) if direction is not None else 1.0
        if update > tolerance and not stalled:
            return None
        if self.restarted:
            what = f"loss changed by {change:.2e}" if stalled else f"update {update:.2e}"
            return (
                f"converged: no progress ({what} < tolerance_change {tolerance:.1e}), also "
                "after a restart along the steepest descent"
            )
        func_evals = state.get("func_evals", 0)
        state.clear()  # the next step starts afresh along the steepest descent
        state["func_evals"] = func_evals
        self.restarted = 1
        self.lr = group["lr"]
        group["lr"] = group["lr"] * RESTART_STEP
        return None
