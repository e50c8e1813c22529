"""The Lightning module: a network trained on a problem's constraints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import torch.distributed as dist
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from deepinn._errors import ConfigurationError, TrainingError
from deepinn.problems import Problem
from deepinn.training.service._metrics import relative_l2, relative_l2_per_output
from deepinn.training.settings._optim import DTYPES, LBFGSMonitor, Phase, check_phases, phase_at
from deepinn.training.step._compile import CompiledGradient, CompiledLoss, CompiledNetwork
from deepinn.training.step._ddp import all_reduce, is_distributed, no_ddp_sync
from deepinn.training.step._finite import FiniteTracker
from deepinn.training.step._loss import PINNLoss, Points, group_by_order
from deepinn.training.step._stepping import Stepper
from deepinn.training.toolbox._causal import CausalConfig, sum_over_ranks
from deepinn.training.toolbox._weighting import LossWeighting, WeightingConfig

__all__ = ["PINNModule"]

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

_UNCHECKED_LIMIT = 256  # steps of losses kept on the device between two finiteness checks


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
        log_every: Log losses every this many steps (no host sync in the steps between).
        field_mode: ``auto`` (forward Laplacian where the network offers it), ``reverse`` or
            ``forward`` (torch.func forward mode), passed to :class:`deepinn.operators.Field`.
        finite_check_every: Raise on a NaN/inf loss every this many steps (non-finite losses are
            tracked on the device at every step, so the error names the first bad step; the
            check also runs before every checkpoint, so none holds non-finite weights).
        compile: ``True``: run the loss through ``torch.compile`` (the whole loss where it takes
            no nested autograd, else the network's passes; see :class:`PINNLoss`), falling back
            to eager mode with a warning; ``"auto"``: the whole loss where possible, else eager,
            quietly; ``False``: eager.
        hparams: The plain configuration to store in checkpoints and TensorBoard.
        weighting: Loss balancing (:class:`WeightingConfig`; ``self.balancer`` holds the
            weights as a buffer, so checkpoints keep them).
        causal: Causal weighting in time of the PDE residuals (:class:`CausalConfig`).
    """

    def __init__(
        self,
        problem: Problem,
        network: torch.nn.Module,
        phases: Sequence[Phase],
        log_every: int = 10,
        field_mode: str = "auto",
        finite_check_every: int = 10,
        compile: bool | str = False,
        hparams: Mapping[str, Any] | None = None,
        weighting: WeightingConfig | None = None,
        causal: CausalConfig | None = None,
    ) -> None:
        super().__init__()
        check_phases(phases)
        counts = {"log_every": log_every, "finite_check_every": finite_check_every}
        for name, value in counts.items():
            if value <= 0:
                raise ConfigurationError(f"{name} = {value}; use a positive number of steps.")
        self.loss = PINNLoss(
            problem, network, field_mode=field_mode, compile=compile, causal=causal
        )
        self.balancer = LossWeighting(
            weighting or WeightingConfig(),
            [c.name for c in problem.constraints],
            [c.weight for c in problem.constraints],
        )
        self.automatic_optimization = False
        self.problem = problem
        self.net = self.loss.network
        self.coefficients = torch.nn.ParameterDict(problem.parameters)
        self.phases = list(phases)
        self.log_every = log_every
        self.field_mode = field_mode
        self.finite_check_every = finite_check_every
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

    _group_by_order = staticmethod(group_by_order)

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
        """The total loss and each constraint's weighted loss (see :meth:`PINNLoss.__call__`).

        ``rows`` holds each constraint's global number of points; the sum over ranks (see
        :func:`deepinn.training.step._ddp.all_reduce`) of the shards' losses is the global loss.
        """
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
        params = list(self.parameters())
        optimizers, schedulers = [], []
        for phase in self.phases:
            optimizer = phase.optimizer(params)
            optimizers.append(optimizer)
            if phase.scheduler is not None:
                schedulers.append({"scheduler": phase.scheduler(optimizer), "interval": "step"})
        # The configuration's settings, before a resumed checkpoint's state replaces them.
        self._configured_groups = [
            [_group_settings(group) for group in optimizer.param_groups] for optimizer in optimizers
        ]
        return optimizers, schedulers

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
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
        if self.trainer.ckpt_path is None or not getattr(self, "_configured_groups", None):
            return
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        scheduler_list = self._scheduler_list() if self.trainer.lr_scheduler_configs else []
        schedulers = {id(s.optimizer): s for s in scheduler_list}
        changes = []
        pairs = zip(optimizers, self._configured_groups, strict=False)
        for index, (wrapped, configured) in enumerate(pairs):
            raw = getattr(wrapped, "optimizer", wrapped)
            groups = zip(raw.param_groups, configured, strict=False)
            for number, (group, fresh) in enumerate(groups):
                restored = _group_settings(group)
                for key, value in fresh.items():
                    if key in restored and restored[key] != value:
                        changes.append(f"optimizer {index} {key}: {restored[key]!r} -> {value!r}")
                        _apply_setting(group, key, value, schedulers.get(id(raw)), number)
        if changes and self.trainer.is_global_zero:
            from deepinn.training.service._progress import log_line

            log_line(
                "resume: the configuration's optimizer settings replace the checkpoint's ("
                + "; ".join(changes) + ")"
            )

    def _phase_objects(self, index: int) -> tuple[Any, Any]:
        optimizers = self.optimizers()
        optimizer = optimizers[index] if isinstance(optimizers, list) else optimizers
        scheduler = None
        if self.phases[index].scheduler is not None:
            position = sum(1 for p in self.phases[:index] if p.scheduler is not None)
            scheduler = self._scheduler_list()[position]
        return optimizer, scheduler

    def _scheduler_list(self) -> list[LRScheduler | ReduceLROnPlateau]:
        """The configured learning-rate schedulers as a list (empty when there are none)."""
        found = self.lr_schedulers()
        if isinstance(found, list):
            return found
        return [s for s in (found,) if s is not None]

    def _switch_dtype(self, batch: dict[str, Any], dtype_name: str | None) -> dict[str, Any]:
        """Move the network (and this round's points) to the phase's dtype, once per round."""
        if dtype_name is None:
            return batch
        dtype = DTYPES[dtype_name]
        if next(self.net.parameters()).dtype != dtype:
            self.to(dtype)
        cached = self._cast_batch
        if cached is None or cached[0] != (batch["round"], dtype):
            points = {
                name: {k: v.to(dtype) if v.is_floating_point() else v for k, v in part.items()}
                for name, part in batch["points"].items()
            }
            cached = ((batch["round"], dtype), dict(batch, points=points))
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
        index = phase_at(self.phases, step)
        batch = self._switch_dtype(batch, self.phases[index].dtype)
        optimizer, scheduler = self._phase_objects(index)
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
                        self.balancer.update(losses, trained, self.loss.reduce)
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
                if due or is_lbfgs or step % self.finite_check_every == 0:
                    self._raise_if_non_finite()
            return total

        with no_ddp_sync(self._trainer):
            if is_lbfgs:
                before = raw.state[raw.param_groups[0]["params"][0]].get("n_iter", 0)
                loss = float(stepper.step(optimizer, closure))
                reason = self._lbfgs_monitor.after_step(raw, before, loss)
                if reason is not None:
                    self.stop_reason = f"L-BFGS {reason} at step {step}"
                    self.trainer.should_stop = True
            else:
                stepper.step(optimizer, closure)
        if scheduler is not None:
            scheduler.step()
        self.last_losses = dict(first)
        # a resumed fit logs at once: a checkpoint monitoring train/loss may come first
        if step % self.log_every == 0 or not self._logged:
            self._logged = True
            self._log_losses(step, first, optimizer)

    def _raise_if_non_finite(self) -> None:
        """Stop with the first bad step and constraint(s), if a tracked loss was not finite."""
        bad = self._finite.first_non_finite()
        if bad is None:
            return
        step, bad_names = bad
        checkpoint = None
        if self._trainer is not None:
            for callback in self.trainer.checkpoint_callbacks:
                checkpoint = getattr(callback, "last_model_path", None) or checkpoint
        if checkpoint:
            run_folder = Path(checkpoint).parent.parent
            advice = (
                f"Lower the learning rate and continue from it: deepinn train resume={run_folder} "
                f"optimizer.lr=<lower> (in deepinn.fit: resume='{run_folder}', "
                "phases=adam(lr=<lower>) or your phases with a lower lr)"
            )
        else:
            advice = (
                "Lower the learning rate (optimizer.lr=<lower>; in deepinn.fit "
                "phases=adam(lr=<lower>) or your phases with a lower lr) and run again"
            )
        raise TrainingError(
            f"Non-finite loss at step {step} in constraint(s) {bad_names}. Training stopped; the "
            f"last good checkpoint is {checkpoint or '(none saved yet)'}. {advice}; or check the "
            "residual and its data for NaN/inf, or use float64 (dtype=float64)."
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._raise_if_non_finite()  # never write a checkpoint after a non-finite step
        # field_mode=auto's timed choice: a resumed run computes exactly what this one did
        checkpoint["deepinn_group_modes"] = self.loss.group_modes

    def on_train_end(self) -> None:
        self._raise_if_non_finite()

    def _lightning_reads_the_loss(self) -> bool:
        """Whether the progress bar or a callback's ``monitor`` reads ``train/loss``."""
        trainer = self.trainer
        return trainer.progress_bar_callback is not None or any(
            getattr(callback, "monitor", None) == "train/loss"
            for callback in trainer.callbacks  # type: ignore[attr-defined]
        )

    def _log_losses(self, step: int, losses: Mapping[str, torch.Tensor], optimizer: Any) -> None:
        """Log every loss, the learning rate and the coefficients to the loggers at ``step``.

        One ``log_metrics`` call with one host sync, every ``log_every`` steps. Only the total
        goes through ``self.log``, and only when something reads it (the progress bar, or a
        callback such as the checkpoint's that monitors ``train/loss``): Lightning re-walks a
        logged metric's whole state at every call, about a millisecond per key on a 2-core CPU,
        several percent of a small PINN's step. The losses are global already (reduced with the
        gradients): no extra sync under DDP.
        """
        if self._lightning_reads_the_loss():
            self.log("train/loss", losses["total"], prog_bar=True, logger=False, batch_size=1)
        if not self.loggers:
            return
        values = {f"train/loss/{name}": value for name, value in losses.items() if name != "total"}
        values["train/loss"] = losses["total"]
        for name, parameter in self.coefficients.items():
            values[f"train/coefficient/{name}"] = parameter.detach().reshape(-1)[0]
        values.update(self.balancer.logged())
        for name, weights in self.loss.causal.last_weights.items():
            values[f"train/causal/{name}/min_weight"] = weights.min()
            values.update({f"train/causal/{name}/chunk_{i}": w for i, w in enumerate(weights)})
        numbers = torch.stack([value.detach().double() for value in values.values()]).tolist()
        metrics = dict(zip(values, numbers, strict=True))
        metrics["train/lr"] = optimizer.optimizer.param_groups[0]["lr"]
        for logger in self.loggers:
            logger.log_metrics(metrics, step=step)

    # ------------------------------------------------------------------ validation
    def predict_points(self, x: torch.Tensor, chunk: int = 65_536) -> torch.Tensor:
        """The network's outputs at ``x`` (no graph kept), in chunks."""
        x = x.to(next(self.net.parameters()).dtype)
        with torch.no_grad():
            return torch.cat([self.net(part) for part in x.split(chunk)])

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        metrics: dict[str, torch.Tensor] = {}
        if "u" in batch:
            prediction = self.predict_points(batch["x"])
            metrics["val/rel_l2"] = relative_l2(prediction, batch["u"])
            for name, error in relative_l2_per_output(
                prediction, batch["u"], self.problem.outputs
            ).items():
                metrics[f"val/rel_l2/{name}"] = error
        for name, true in self.problem.true_parameters.items():
            value = self.coefficients[name].detach().reshape(-1)[0]
            metrics[f"val/coefficient_error/{name}"] = (value - true).abs() / abs(true)
        if metrics:
            # Every rank measures the whole evaluation set (same parameters, same value); the
            # sync (once per validation) only keeps Lightning's epoch-level bookkeeping uniform.
            self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=1, sync_dist=True)

