"""The Lightning module: a network trained on a problem's constraints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch

from deepinn._errors import ConfigurationError, TrainingError
from deepinn.constraints import AbstractConstraint
from deepinn.operators import Field
from deepinn.problems import Problem
from deepinn.training._optim import Phase, check_phases, lbfgs_stop_reason, phase_at

__all__ = ["PINNModule"]

FIELD_MODES = ("auto", "reverse", "forward")


class PINNModule(pl.LightningModule):
    """Trains ``network`` so that every constraint of ``problem`` holds.

    The loss is ``sum_c weight_c * mean(residual_c ** 2)``. Constraints that take derivatives of
    the same order share one forward pass (their points are concatenated); derivatives go through
    the operators' per-step cache. Optimization is manual so that Adam, L-BFGS and Adam then
    L-BFGS run through one code path.

    Args:
        problem: The PDE problem.
        network: Maps (N, d) inputs to (N, len(problem.outputs)) outputs.
        phases: The optimizer phases (see :class:`Phase`).
        log_every: Log losses every this many steps (no host sync in the steps between).
        field_mode: ``auto`` (forward Laplacian where the network offers it), ``reverse`` or
            ``forward`` (torch.func forward mode), passed to :class:`deepinn.operators.Field`.
        finite_check_every: Check the loss for NaN/inf every this many steps.
        hparams: The plain configuration to store in checkpoints and TensorBoard.
    """

    def __init__(
        self,
        problem: Problem,
        network: torch.nn.Module,
        phases: Sequence[Phase],
        log_every: int = 10,
        field_mode: str = "auto",
        finite_check_every: int = 1,
        hparams: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_phases(phases)
        if field_mode not in FIELD_MODES:
            raise ConfigurationError(
                f"field_mode = {field_mode!r}; valid modes are {list(FIELD_MODES)}."
            )
        for name, value in {"log_every": log_every, "finite_check_every": finite_check_every}.items():
            if value <= 0:
                raise ConfigurationError(f"{name} = {value}; use a positive number of steps.")
        self.automatic_optimization = False
        self.problem = problem
        self.net = network
        self.coefficients = torch.nn.ParameterDict(problem.parameters)
        self.phases = list(phases)
        self.log_every = log_every
        self.field_mode = field_mode
        self.finite_check_every = finite_check_every
        self.save_hyperparameters(dict(hparams or {}))
        self._groups = self._group_by_order(problem.constraints)
        self._device_batch: tuple[int, torch.device, dict[str, Any]] | None = None
        self.last_losses: dict[str, torch.Tensor] = {}
        self.stop_reason: str | None = None
        self._lbfgs_loss: float | None = None

    @staticmethod
    def _group_by_order(
        constraints: Sequence[AbstractConstraint],
    ) -> list[tuple[tuple[str, ...] | None, list[AbstractConstraint]]]:
        groups: dict[int, list[AbstractConstraint]] = {}
        for constraint in constraints:
            groups.setdefault(constraint.order, []).append(constraint)
        result = []
        for order in sorted(groups):
            members = groups[order]
            hints = [c.second_order for c in members if c.second_order is not None]
            second = tuple(sorted({h for hint in hints for h in hint})) if hints else None
            result.append((second, members))
        return result

    # ------------------------------------------------------------------ forward and loss
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def compute_losses(
        self, points: Mapping[str, Mapping[str, torch.Tensor]], rows: Mapping[str, int]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total loss and each constraint's weighted loss for one batch of points.

        ``rows`` holds each constraint's global number of points: a rank's shard contributes
        ``sum(residual ** 2) / rows * world_size`` so that DDP's gradient average equals the
        gradient of the global mean.
        """
        world = self.trainer.world_size if self._trainer is not None else 1
        losses: dict[str, torch.Tensor] = {}
        for second_order, members in self._groups:
            inputs = [c.inputs(points[c.name]) for c in members]
            x = inputs[0] if len(inputs) == 1 else torch.cat(inputs)
            field = Field(
                self.net,
                x,
                self.problem.space,
                output_names=self.problem.outputs,
                mode=self.field_mode,
                second_order=second_order,
            )
            start = 0
            for constraint, part in zip(members, inputs):
                view = field if len(members) == 1 else field.rows(slice(start, start + len(part)))
                start += len(part)
                residual = constraint.checked_residual(view, points[constraint.name])
                scale = world / (rows[constraint.name] * residual.shape[1])
                losses[constraint.name] = constraint.weight * residual.square().sum() * scale
        total = torch.stack(list(losses.values())).sum()
        return total, losses

    # ------------------------------------------------------------------ data on the device
    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """Keep a round's points on the device: copy them only when they were resampled."""
        if isinstance(batch, dict) and "round" in batch:
            cached = self._device_batch
            if cached is not None and cached[0] == batch["round"] and cached[1] == device:
                return cached[2]
            moved = dict(batch, points=super().transfer_batch_to_device(batch["points"], device, dataloader_idx))
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
        return optimizers, schedulers

    def _phase_objects(self, index: int) -> tuple[Any, Any]:
        optimizers = self.optimizers()
        optimizer = optimizers[index] if isinstance(optimizers, list) else optimizers
        scheduler = None
        if self.phases[index].scheduler is not None:
            schedulers = self.lr_schedulers()
            schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
            position = sum(1 for p in self.phases[:index] if p.scheduler is not None)
            scheduler = schedulers[position]
        return optimizer, scheduler

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        step = self.global_step
        index = phase_at(self.phases, step)
        optimizer, scheduler = self._phase_objects(index)
        raw = optimizer.optimizer
        is_lbfgs = isinstance(raw, torch.optim.LBFGS)
        first: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            total, losses = self.compute_losses(batch["points"], batch["rows"])
            if not first:
                first.update(losses, total=total.detach())
                if step % self.finite_check_every == 0 or is_lbfgs:
                    self._check_finite(step, total, losses)
            self.manual_backward(total)
            if is_lbfgs and self.trainer.world_size > 1:
                # Every rank must take the same line-search decisions: reduce the loss.
                return self.trainer.strategy.reduce(total.detach(), reduce_op="mean")
            return total.detach()

        if is_lbfgs:
            before = raw.state[raw.param_groups[0]["params"][0]].get("n_iter", 0)
            loss = float(optimizer.step(closure=closure))
            reason = lbfgs_stop_reason(raw, before, self._lbfgs_loss, loss)
            self._lbfgs_loss = loss
            if reason is not None:
                self.stop_reason = f"L-BFGS {reason} at step {step}"
                self.trainer.should_stop = True
        else:
            optimizer.step(closure=closure)
        if scheduler is not None:
            scheduler.step()
        self.last_losses = {k: v.detach() for k, v in first.items()}
        if step % self.log_every == 0:
            self._log_losses(first, optimizer)

    def _check_finite(self, step: int, total: torch.Tensor, losses: Mapping[str, torch.Tensor]) -> None:
        if bool(torch.isfinite(total)):
            return
        bad = [name for name, value in losses.items() if not bool(torch.isfinite(value))]
        checkpoint = None
        for callback in self.trainer.checkpoint_callbacks:
            checkpoint = getattr(callback, "last_model_path", None) or checkpoint
        raise TrainingError(
            f"Non-finite loss at step {step} in constraint(s) {bad} "
            f"(values: { {name: float(losses[name].detach()) for name in bad} }). Training stopped; the "
            f"last good checkpoint is {checkpoint or '(none saved yet)'}. Lower the learning "
            "rate, check the residual and its data for NaN/inf, or use float64."
        )

    def _log_losses(self, losses: Mapping[str, torch.Tensor], optimizer: Any) -> None:
        values = {f"train/loss/{name}": value for name, value in losses.items() if name != "total"}
        values["train/loss"] = losses["total"]
        values["train/lr"] = torch.tensor(optimizer.optimizer.param_groups[0]["lr"])
        for name, parameter in self.coefficients.items():
            values[f"train/coefficient/{name}"] = parameter.detach().reshape(-1)[0]
        self.log_dict(values, on_step=True, on_epoch=False, batch_size=1, sync_dist=False)
        self.log("loss", losses["total"], prog_bar=True, logger=False, batch_size=1)

    # ------------------------------------------------------------------ validation
    def predict_points(self, x: torch.Tensor, chunk: int = 65_536) -> torch.Tensor:
        """The network's outputs at ``x`` (no graph kept), in chunks."""
        with torch.no_grad():
            return torch.cat([self.net(part) for part in x.split(chunk)])

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        metrics: dict[str, torch.Tensor] = {}
        if "u" in batch:
            prediction = self.predict_points(batch["x"])
            metrics["val/rel_l2"] = relative_l2(prediction, batch["u"])
        for name, true in self.problem.true_parameters.items():
            value = self.coefficients[name].detach().reshape(-1)[0]
            metrics[f"val/coefficient_error/{name}"] = (value - true).abs() / abs(true)
        if metrics:
            self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=1)


def relative_l2(prediction: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """||prediction - exact||_2 / ||exact||_2 over all points and outputs."""
    if prediction.shape != exact.shape:
        raise ConfigurationError(
            f"Prediction shape {tuple(prediction.shape)} does not match the solution's "
            f"{tuple(exact.shape)}; the network needs one output per problem output."
        )
    denominator = exact.norm()
    if denominator == 0:
        return (prediction - exact).norm()
    return (prediction - exact).norm() / denominator


