"""Callbacks: gradient monitoring, figures, and the run folder's artifacts (the network and its
record written by :mod:`deepinn.training.service._record`).

TensorBoard tags (docs/monitoring.md): TensorBoard groups cards by the tag's first word, sorts the
groups by name and opens the first two, so the words are chosen to sort ``error`` (the validation
errors and the solution figure), ``train`` (losses, learning rate, coefficients, loss weights,
sample points), then ``weights`` (the network's gradient norms and histograms, closed).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import yaml
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from deepinn.training.service._metrics import relative_l2, relative_l2_per_output
from deepinn.training.service._plots import (
    figure_image,
    loss_figure,
    points_figure,
    solution_figure,
)
from deepinn.training.service._record import write_network
from deepinn.training.settings._sections import MonitorConfig
from deepinn.training.step._compile import CompiledGradient, CompiledLoss
from deepinn.training.step._module import PINNModule
from deepinn.training.step._validation import validation_metrics

__all__ = [
    "FigureLogger",
    "GradientMonitor",
    "RunArtifacts",
    "json_safe",
    "write_metrics",
]

_WHAT_COMPILED = {CompiledLoss: "whole loss", CompiledGradient: "whole loss and its gradient"}
"""``metrics.json["compiled"]["what"]`` by what ran compiled (else the network's passes)."""


def _tensorboard(trainer: pl.Trainer) -> Any | None:
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def _datamodule(trainer: pl.Trainer) -> Any | None:
    """The trainer's datamodule (Lightning sets this attribute at run time, untyped)."""
    return getattr(trainer, "datamodule", None)


def _pinn(callback: pl.Callback, pl_module: pl.LightningModule) -> PINNModule:
    """``pl_module`` as the :class:`PINNModule` whose problem and network the callback reads."""
    if not isinstance(pl_module, PINNModule):
        raise TypeError(
            f"{type(callback).__name__} needs a PINNModule; got {type(pl_module).__name__}."
        )
    return pl_module


class GradientMonitor(pl.Callback):
    """Per-layer gradient norms (``weights/grad_norm/<parameter>`` and ``.../total``) every
    ``monitor.grad_norm_every`` steps; histograms of the weights (``weights/<parameter>``) and
    their gradients (``weights/grad/<parameter>``) every ``monitor.histogram_every`` steps
    (TensorBoard, rank zero)."""

    def __init__(self, monitor: MonitorConfig) -> None:
        self.norm_every = monitor.grad_norm_every
        self.histogram_every = monitor.histogram_every
        self._done_step = -1

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any
    ) -> None:
        step = trainer.global_step
        if step == self._done_step or not trainer.is_global_zero:
            return  # L-BFGS calls its closure several times per step
        norms, histograms = step % self.norm_every == 0, step % self.histogram_every == 0
        if not (norms or histograms):
            return
        self._done_step = step
        writer = _tensorboard(trainer)
        if writer is None:
            return
        grads = {
            name: parameter.grad.detach()
            for name, parameter in pl_module.named_parameters()
            if parameter.grad is not None
        }
        if norms and grads:
            stacked = torch.stack([grad.norm() for grad in grads.values()]).cpu()
            for name, value in zip(grads, stacked.tolist(), strict=True):
                writer.add_scalar(f"weights/grad_norm/{name}", value, step)
            writer.add_scalar("weights/grad_norm/total", float(stacked.norm()), step)
        if histograms:
            for name, parameter in pl_module.named_parameters():
                writer.add_histogram(f"weights/{name}", parameter.detach().cpu(), step)
                if parameter.grad is not None:
                    grad = parameter.grad.detach().cpu()
                    writer.add_histogram(f"weights/grad/{name}", grad, step)


class FigureLogger(pl.Callback):
    """Sample-point figures (``train/points``: at the start and after each resampling) and the
    solution/error figure of the first output (``error/solution``) at each validation
    (TensorBoard, rank zero).

    With a ``share`` (see :meth:`RunConfig.figure_share`), a figure after the first sample-point
    one is drawn only while the figures' drawing time so far, this one included (estimated by
    the dearest so far), stays within ``share`` of the time trained; the solution figure of the
    last step is drawn whatever it costs, when training ends if no validation drew it.
    """

    FIRST_ESTIMATE_S = 0.1
    """What a figure is taken to cost before one has been drawn (matplotlib, a small figure)."""

    def __init__(self, share: float | None = None) -> None:
        self._round: int | None = None
        self.share = share
        self._start = time.perf_counter()
        self._spent = 0.0
        self._cost = self.FIRST_ESTIMATE_S
        self.solution_steps: list[int] = []
        """The steps whose solution figure was drawn."""

    def _affordable(self) -> bool:
        if self.share is None:
            return True
        return self._spent + self._cost <= self.share * (time.perf_counter() - self._start)

    def _log_points(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = _tensorboard(trainer)
        data = _datamodule(trainer)
        if writer is None or data is None:
            return
        points = {name: batch["x"] for name, batch in data.current_global_points().items()}
        names = _pinn(self, pl_module).problem.space.coordinate_names()
        image = figure_image(points_figure(points, names))
        writer.add_image("train/points", image, trainer.global_step, dataformats="HWC")

    def _log_solution(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writer = _tensorboard(trainer)
        if writer is None or trainer.global_step in self.solution_steps:
            return
        module = _pinn(self, pl_module)
        image = figure_image(solution_figure(module.problem, _predict_float64(module)))
        writer.add_image("error/solution", image, trainer.global_step, dataformats="HWC")
        self.solution_steps.append(trainer.global_step)

    def _timed(self, log: Any, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        start = time.perf_counter()
        log(trainer, pl_module)
        cost = time.perf_counter() - start
        self._cost = cost if self._spent == 0.0 else max(cost, self._cost)  # the dearest drawn
        self._spent += cost

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()
        writer = _tensorboard(trainer)
        if writer is not None and trainer.is_global_zero and pl_module.hparams:
            text = yaml.safe_dump(dict(pl_module.hparams), sort_keys=False)
            writer.add_text("config", "```\n" + text + "\n```", trainer.global_step)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.is_global_zero and batch["round"] != self._round:
            first, self._round = self._round is None, batch["round"]
            if first or self._affordable():
                self._timed(self._log_points, trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        last = trainer.max_steps is not None and trainer.global_step >= trainer.max_steps
        if last or self._affordable():
            self._timed(self._log_solution, trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and self.share is not None:
            self._log_solution(trainer, pl_module)  # the last step's, unless a validation drew it


def _predict_float64(pl_module: PINNModule) -> Any:
    def predict(x: torch.Tensor) -> torch.Tensor:
        dtype = next(pl_module.net.parameters()).dtype
        return pl_module.predict_points(x.to(pl_module.device, dtype)).to(torch.float64).cpu()

    return predict


class RunArtifacts(pl.Callback):
    """Writes ``metrics.json``, ``network.pt``, ``run.json``, ``predictions.npz`` and
    ``plots/*.png`` (sample points, solution, ``losses.png``) into the run folder.

    The loss curves of ``plots/losses.png`` are recorded every ``monitor.log_every`` steps and at
    each validation; they are kept in the checkpoints, so a resumed run draws its whole history
    (a checkpoint is written before its step's validation: the resumed run measures the error at
    its first step).
    """

    def __init__(self, run_dir: str | Path, eval_points: int = 10_000) -> None:
        self.run_dir = Path(run_dir)
        self.eval_points = eval_points
        self.metrics: dict[str, Any] = {}
        self._start = 0.0
        self.history: dict[str, Any] = {"steps": [], "losses": {}, "val_steps": [], "val": {}}

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = state_dict.get("history", self.history)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:
        module = _pinn(self, pl_module)
        step, every = trainer.global_step - 1, module.run.monitor.log_every
        steps = self.history["steps"]
        if not module.last_losses or (steps and step // every <= steps[-1] // every):
            return
        names = list(module.last_losses)
        values = torch.stack([module.last_losses[n].detach().double() for n in names]).tolist()
        _append(self.history["losses"], len(steps), dict(zip(names, values, strict=True)))
        steps.append(step)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._record_errors(trainer.global_step, trainer.callback_metrics)

    def _record_errors(self, step: int, metrics: Mapping[str, Any]) -> None:
        errors = {
            name[len("val/"):]: float(value)
            for name, value in metrics.items()
            if name.startswith("val/")
            and (name.count("/") == 1 or name.startswith("val/coefficient_error/"))
        }
        if errors:
            _append(self.history["val"], len(self.history["val_steps"]), errors)
            self.history["val_steps"].append(step)

    @rank_zero_only
    def _write_losses(self) -> None:
        history = self.history
        if history["steps"]:
            plots = self.run_dir / "plots"
            plots.mkdir(parents=True, exist_ok=True)
            figure = loss_figure(
                history["steps"], history["losses"], history["val_steps"], history["val"]
            )
            figure.savefig(plots / "losses.png", dpi=100)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        try:  # the curves up to an interruption or a divergence; never hides the exception
            self._write_losses()
        except Exception as error:  # the run's own exception is the one to show
            warnings.warn(f"plots/losses.png not written: {error}", stacklevel=1)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    @rank_zero_only
    def _write_points(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        plots = self.run_dir / "plots"
        plots.mkdir(parents=True, exist_ok=True)
        data = _datamodule(trainer)
        if data is not None:
            for name, batch in data.current_global_points().items():
                names = _pinn(self, pl_module).problem.space.coordinate_names()
                figure = points_figure({name: batch["x"]}, names)
                figure.savefig(plots / f"points_{name}.png", dpi=100)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._write_points(trainer, pl_module)
        step, data = trainer.global_step, _datamodule(trainer)
        if step > 0 and data is not None and step not in self.history["val_steps"]:
            module = _pinn(self, pl_module)  # resumed: the error its checkpoint did not hold
            item = data.val_dataloader().dataset[0]  # not iterated: no draw from torch's RNG
            batch = {k: v.to(module.device) for k, v in item.items()}
            self._record_errors(step, validation_metrics(
                module.problem, module.net, dict(module.coefficients), batch))

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        wall_time = time.perf_counter() - self._start
        self.metrics = compute_metrics(pl_module, trainer.global_step, wall_time, self.eval_points)
        if trainer.is_global_zero:
            write_artifacts(self.run_dir, pl_module, self.metrics, self.eval_points)
            self._write_losses()


def _append(series: dict[str, list[float]], length: int, values: Mapping[str, float]) -> None:
    """Add one point of each series in ``values`` (a series that starts late is padded with
    NaN to ``length`` points; one missing now gets NaN)."""
    for name in [*series, *(name for name in values if name not in series)]:
        column = series.setdefault(name, [math.nan] * length)
        column.append(values.get(name, math.nan))


def compute_metrics(
    pl_module: Any, steps: int, wall_time: float, eval_points: int = 10_000
) -> dict[str, Any]:
    """The run's summary: rel_l2 (if the solution is known), final losses, steps, time."""
    problem = pl_module.problem
    metrics: dict[str, Any] = {"problem": problem.name}
    points, exact = problem.evaluation_set(eval_points)
    if exact is not None:
        prediction = problem.modulo_gauge(_predict_float64(pl_module)(points), exact)
        metrics["rel_l2"] = float(relative_l2(prediction, exact))
        if problem.gauge:
            metrics["gauge"] = dict(problem.gauge)
        per_output = relative_l2_per_output(prediction, exact, problem.outputs)
        if per_output:
            metrics["rel_l2_per_output"] = {k: float(v) for k, v in per_output.items()}
    losses = {k: float(v) for k, v in pl_module.last_losses.items()}
    metrics["final_loss"] = losses.pop("total", None)
    metrics["loss_per_constraint"] = losses
    metrics["steps"] = int(steps)
    metrics["wall_time_s"] = round(float(wall_time), 3)
    if pl_module.coefficients:
        metrics["coefficients"] = {
            k: float(v.detach().reshape(-1)[0]) for k, v in pl_module.coefficients.items()
        }
        metrics["coefficient_rel_error"] = {
            name: abs(metrics["coefficients"][name] - true) / abs(true)
            for name, true in problem.true_parameters.items()
        }
    if pl_module.stop_reason:
        metrics["stop_reason"] = pl_module.stop_reason
    compiled = [c for c in getattr(pl_module, "compiled", None) or () if c.failure is None]
    if compiled:  # compile=true, or compile=auto on a long enough run
        metrics["compiled"] = {
            "what": _WHAT_COMPILED.get(type(compiled[0]), "network passes"),
            "warmup_s": round(sum(c.warmup_s for c in compiled), 3),
        }
    return metrics


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    """``metrics.json``: always valid JSON (a NaN or infinite number is written as null)."""
    text = json.dumps(json_safe(metrics), indent=2, allow_nan=False) + "\n"
    temporary = run_dir / "metrics.json.tmp"
    temporary.write_text(text)
    temporary.replace(run_dir / "metrics.json")


def write_artifacts(
    run_dir: Path, pl_module: Any, metrics: dict[str, Any], eval_points: int
) -> None:
    """metrics.json, network.pt, run.json, predictions.npz and the solution plots of a finished
    run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_metrics(run_dir, metrics)
    write_network(run_dir, pl_module, eval_points)
    problem = pl_module.problem
    points, exact = problem.evaluation_set(eval_points)
    prediction = _predict_float64(pl_module)(points)
    arrays = {"points": points.numpy(), "prediction": prediction.numpy()}
    if exact is not None:
        arrays["exact"] = exact.numpy()
    np.savez_compressed(run_dir / "predictions.npz", **arrays)
    plots = run_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    for index, output in enumerate(problem.outputs):
        figure = solution_figure(problem, _predict_float64(pl_module), output=index)
        figure.savefig(plots / f"solution_{output}.png", dpi=100)

