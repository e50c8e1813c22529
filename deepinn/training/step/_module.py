"""The Lightning module: a network trained on a problem's constraints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
import torch.distributed as dist

from deepinn.problems import Problem
from deepinn.training.service._progress import log_line
from deepinn.training.settings._optim import DTYPES, LBFGSMonitor, Phase, check_phases
from deepinn.training.settings._settings import RunConfig
from deepinn.training.step._compile import CompiledGradient, CompiledLoss, CompiledNetwork
from deepinn.training.step._ddp import all_reduce, is_distributed, no_ddp_sync
from deepinn.training.step._finite import FiniteTracker, last_checkpoint, non_finite_error
from deepinn.training.step._logging import log_losses
from deepinn.training.step._loss import PINNLoss, Points
from deepinn.training.step._phases import (
    PhaseOptimizers,
    load_phase_state,
    save_phase_state,
    stop_reason,
)
from deepinn.training.step._stepping import Stepper
from deepinn.training.step._validation import log_validation, predict, validation_metrics
from deepinn.training.toolbox._causal import sum_over_ranks
from deepinn.training.toolbox._weighting import LossWeighting

__all__ = ["PINNModule"]

FINITE_CHECK_EVERY = 10
"""A NaN/inf loss stops the run at most this many steps late (non-finite losses are tracked on
the device at every step, so the error names the first bad step; the check also runs before
every checkpoint, so none holds non-finite weights)."""

_UNCHECKED_LIMIT = 256  # steps of losses kept on the device between two finiteness checks


def _cast(points: Points, dtype: torch.dtype) -> dict[str, dict[str, torch.Tensor]]:
    """``points`` with every floating-point tensor in ``dtype``."""
    return {
        name: {k: v.to(dtype) if v.is_floating_point() else v for k, v in part.items()}
        for name, part in points.items()
    }


class PINNModule(pl.LightningModule):
    """Trains ``network`` so that every constraint of ``problem`` holds.

    The loss is a :class:`PINNLoss` (``self.loss``), ``sum_c weight_c * mean(residual_c ** 2)``;
    this module runs the loop around it: optimizer phases, dtype switches, the device copy of the
    points, the DDP reduction, the finiteness guard, logging and validation. Optimization is
    manual so that Adam, L-BFGS and Adam then L-BFGS run through one code path.

    Under DDP each rank holds a disjoint shard of the global points. The module synchronizes the
    gradients itself, after every backward (DDP's reducer is kept out with ``no_sync``): one
    all-reduce sums the gradients and the constraint losses, so every closure call, including
    L-BFGS's line-search evaluations, sees the global loss and its gradient on every rank and the
    parameters stay identical.

    Args:
        problem: The PDE problem.
        network: Maps (N, d) inputs to (N, len(problem.outputs)) outputs. When the problem has
            an ``output_transform``, ``self.net`` is the network wrapped in it
            (:class:`~deepinn.nn.OutputTransform`): the solution is the transformed output.
        phases: The optimizer phases (see :class:`Phase`).
        run: The run's knobs (default :class:`RunConfig`), read whole: ``monitor.log_every``
            (no host sync in the steps between two logs), ``weighting`` (``self.balancer``
            holds the weights as a buffer, so checkpoints keep them) and, through the
            :class:`PINNLoss`, ``field_mode``, ``compile`` and ``causal``.
        max_steps: The run's length, if known (``compile=auto`` compiles long runs only).
        hparams: The plain configuration to store in checkpoints and TensorBoard.
    """

    def __init__(
        self,
        problem: Problem,
        network: torch.nn.Module,
        phases: Sequence[Phase],
        run: RunConfig | None = None,
        *,
        max_steps: int | None = None,
        hparams: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_phases(phases)
        run = run if run is not None else RunConfig()
        self.run = run
        self.loss = PINNLoss(problem, network, run, max_steps=max_steps)
        self.balancer = LossWeighting(
            run.weighting,
            [c.name for c in problem.constraints],
            [c.weight for c in problem.constraints],
        )
        self.automatic_optimization = False
        self.problem = problem
        self.net = self.loss.network
        self.coefficients = torch.nn.ParameterDict(problem.parameters)
        self.phases = list(phases)
        self._optimizers = PhaseOptimizers(self.phases)
        self.save_hyperparameters(dict(hparams or {}))
        self._device_batch: tuple[int, torch.device, dict[str, Any]] | None = None
        self.last_losses: dict[str, torch.Tensor] = {}
        self.stop_reason: str | None = None
        self._lbfgs_monitor = LBFGSMonitor()
        self._finite = FiniteTracker(_UNCHECKED_LIMIT)
        self._cast_batch: tuple[tuple[int, torch.dtype], dict[str, Any]] | None = None
        self._stepper: Stepper | None = None  # built for each fit, on its first step
        self.steps_per_batch = 1
        """Optimizer steps per Lightning batch (``fit`` sets it: see :func:`steps_per_batch`)."""
        self._trained: list[torch.Tensor] = []  # what a compiled loss and gradient differentiates
        self._logged = False  # this fit logged its losses once

    @property
    def compiled(
        self,
    ) -> tuple[CompiledLoss | CompiledGradient] | tuple[CompiledNetwork, CompiledNetwork] | None:
        """What runs compiled (see :attr:`PINNLoss.compiled`), or None in eager mode."""
        return self.loss.compiled

    # ------------------------------------------------------------------ forward and loss
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def compute_losses(
        self, points: Points, rows: Mapping[str, int]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total loss and each constraint's weighted loss (see :meth:`PINNLoss.__call__`);
        ``rows``: each constraint's global number of points (the shards' losses sum to the
        global loss, see :func:`deepinn.training.step._ddp.all_reduce`)."""
        return self.loss(points, rows)

    # ------------------------------------------------------------------ data on the device
    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """Keep a round's points on the device: copy them only when they were resampled."""
        if isinstance(batch, dict) and "round" in batch:
            cached = self._device_batch
            if cached is not None and cached[0] == batch["round"] and cached[1] == device:
                return cached[2]
            points = super().transfer_batch_to_device(batch["points"], device, dataloader_idx)
            moved = dict(batch, points=points)
            self._device_batch = (batch["round"], device, moved)
            return moved
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    # ------------------------------------------------------------------ training
    def configure_optimizers(self) -> Any:
        return self._optimizers.configure(list(self.parameters()))

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        load_phase_state(checkpoint, self._lbfgs_monitor, self._optimizers.ends)
        modes = checkpoint.get("deepinn_group_modes")
        if modes is None:
            return
        if self.loss.compile:  # compile decides again on resume (auto: these if it cannot)
            self.loss.saved_modes = dict(modes)
        else:
            self.loss.group_modes = dict(modes)

    def on_train_start(self) -> None:
        """On resume, apply the configuration's optimizer settings over the checkpoint's (a
        lower ``optimizer.lr`` takes effect; a scheduler keeps its progress) and say so."""
        self._stepper = None  # this fit's trainer and callbacks decide the step path
        self._logged = False
        if self.trainer.ckpt_path is None:
            return
        changes = self._optimizers.reapply(self)
        if changes and self.trainer.is_global_zero:
            log_line("resume: the configuration's optimizer settings replace the checkpoint's ("
                     + "; ".join(changes) + ")")

    def _switch_dtype(self, batch: dict[str, Any], dtype_name: str | None) -> dict[str, Any]:
        """Move the network (and this round's points) to the phase's dtype, once per round."""
        if dtype_name is None:
            return batch
        dtype = DTYPES[dtype_name]
        if next(self.net.parameters()).dtype != dtype:
            self.to(dtype)
        cached = self._cast_batch
        if cached is None or cached[0] != (batch["round"], dtype):
            cached = ((batch["round"], dtype), dict(batch, points=_cast(batch["points"], dtype)))
            self._cast_batch = cached
        return cached[1]

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Optimizer steps on this batch's points up to the next multiple of
        :attr:`steps_per_batch` (a resumed run may start between two), fewer when training
        stops: L-BFGS converged, or ``max_steps`` reached."""
        max_steps = self.trainer.max_steps
        for _ in range(self.steps_per_batch - self.global_step % self.steps_per_batch):
            self._optimizer_step(batch)
            if self.trainer.should_stop or 0 <= max_steps <= self.global_step:
                break

    def _optimizer_step(self, batch: dict[str, Any]) -> None:
        step = self.global_step
        index = self._optimizers.index_at(step)
        batch = self._switch_dtype(batch, self.phases[index].dtype)
        optimizer, scheduler = self._optimizers.objects(self, index)
        raw = optimizer.optimizer
        is_lbfgs = isinstance(raw, torch.optim.LBFGS)
        distributed = is_distributed(self._trainer)
        first: dict[str, torch.Tensor] = {}
        if self._stepper is None:
            self._stepper = Stepper(self)
        stepper = self._stepper

        self.loss.reduce = sum_over_ranks if distributed else None  # global causal weights
        if self.loss.group_modes is None:  # field_mode=auto: time each group's paths, once
            # Without loss weighting (which differentiates each term) the Stepper may take
            # gradients computed in the compiled loss's own graph.
            self._trained = [p for p in self.parameters() if p.requires_grad]
            own = stepper.direct and not self.balancer.enabled
            self.loss.choose_modes(batch["points"], batch["rows"], self._trained if own else None)
            if distributed:  # every rank takes rank 0's choice: one program on every rank
                shared: list[Any] = [self.loss.group_modes]
                dist.broadcast_object_list(shared, src=0)
                self.loss.group_modes = shared[0]

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            if isinstance(self.loss.whole, CompiledGradient):  # one compiled graph, no backward
                total, losses, gradients = self.loss.loss_and_gradient(
                    batch["points"], batch["rows"], self._trained
                )
                stepper.assign(total, self._trained, gradients)
            else:
                total, losses = self.compute_losses(batch["points"], batch["rows"])
                if self.balancer.enabled:
                    if not first and self.balancer.due(step):  # global norms: reduced over ranks
                        trained = [p for p in self.parameters() if p.requires_grad]
                        self.balancer.update(losses, trained, None, self.loss, batch["points"])
                    total = self.balancer.combine(losses)
                stepper.backward(total)
            if distributed:
                # Global loss and gradient on every rank, at every call (L-BFGS calls this several
                # times per step): every rank takes the same line-search decisions.
                total, losses = all_reduce(self.parameters(), losses)
                if self.balancer.enabled:
                    total = self.balancer.combine(losses)
            else:
                total, losses = total.detach(), {k: v.detach() for k, v in losses.items()}
            if not first:
                first.update(losses, total=total)
                due = self._finite.track(step, losses)
                if due or is_lbfgs or step % FINITE_CHECK_EVERY == 0:
                    self._raise_if_non_finite()
            return total

        with no_ddp_sync(self._trainer):
            if is_lbfgs:
                before = raw.state[raw.param_groups[0]["params"][0]].get("n_iter", 0)
                loss = float(stepper.step(optimizer, closure))
                reason = self._lbfgs_monitor.after_step(raw, before, loss)
            else:
                stepper.step(optimizer, closure)
                reason = stop_reason(raw)
            if reason is not None:  # the next phase takes over, or the run stops
                self.stop_reason = self._optimizers.after_stop(
                    raw, reason, index, step, self._lbfgs_monitor, self.trainer.is_global_zero
                )
                self.trainer.should_stop = self.stop_reason is not None
        if scheduler is not None:
            scheduler.step()
        self.last_losses = dict(first)
        # a resumed fit logs at once: a checkpoint monitoring train/loss may come first
        if step % self.run.monitor.log_every == 0 or not self._logged:
            self._logged = True
            log_losses(self, step, first, optimizer)

    def _raise_if_non_finite(self) -> None:
        """Stop with the first bad step and constraint(s), if a tracked loss was not finite."""
        bad = self._finite.first_non_finite()
        if bad is not None:
            raise non_finite_error(*bad, last_checkpoint(self._trainer))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._raise_if_non_finite()  # never write a checkpoint after a non-finite step
        # field_mode=auto's timed choice: a resumed run computes exactly what this one did
        checkpoint["deepinn_group_modes"] = self.loss.group_modes
        save_phase_state(checkpoint, self._lbfgs_monitor, self._optimizers.ends)

    def on_train_end(self) -> None:
        self._raise_if_non_finite()

    # ------------------------------------------------------------------ validation
    def predict_points(self, x: torch.Tensor, chunk: int = 65_536) -> torch.Tensor:
        """The network's outputs at ``x`` (no graph kept), in chunks."""
        return predict(self.net, x, chunk)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        metrics = validation_metrics(self.problem, self.net, dict(self.coefficients), batch)
        log_validation(self, metrics)  # at the optimizer step, like the losses
