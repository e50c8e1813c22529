"""The training service: one call that trains a network on a problem with Lightning."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from deepinn._errors import ConfigurationError
from deepinn.problems import Problem
from deepinn.training._callbacks import (
    FigureLogger,
    GradientMonitor,
    RunArtifacts,
    compute_metrics,
)
from deepinn.training._data import CollocationData
from deepinn.training._module import PINNModule
from deepinn.training._optim import Phase, adam

__all__ = ["FitResult", "checkpoint_path", "fit"]


@dataclass
class FitResult:
    """What a training run produced."""

    metrics: dict[str, Any]
    module: PINNModule
    trainer: pl.Trainer
    run_dir: Path | None

    @property
    def network(self) -> torch.nn.Module:
        return self.module.net


def checkpoint_path(resume: str | Path) -> Path:
    """The checkpoint to resume from: a ``.ckpt`` file or a run folder's ``checkpoints/last.ckpt``."""
    path = Path(resume)
    candidates = [path] if path.is_file() else [path / "checkpoints" / "last.ckpt", path / "last.ckpt"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        f"resume={resume!s}: no checkpoint found (looked for {[str(c) for c in candidates]}). "
        "Pass a .ckpt file or a run folder that has checkpoints/last.ckpt."
    )


def _fit(trainer: pl.Trainer, module: PINNModule, data: CollocationData, resume: str | Path | None) -> None:
    ckpt = str(checkpoint_path(resume)) if resume is not None else None
    trainer.fit(module, datamodule=data, ckpt_path=ckpt, weights_only=True if ckpt else None)


def fit(
    problem: Problem,
    network: torch.nn.Module,
    *,
    phases: Sequence[Phase] | None = None,
    max_steps: int = 2000,
    seed: int = 0,
    run_dir: str | Path | None = None,
    resample_every: int = 0,
    dtype: torch.dtype = torch.float32,
    field_mode: str = "auto",
    compile: bool = False,
    log_every: int = 10,
    val_every: int | None = None,
    grad_norm_every: int = 50,
    histogram_every: int = 500,
    checkpoint_every: int | None = None,
    eval_points: int = 10_000,
    trainer_options: Mapping[str, Any] | None = None,
    logger: bool = True,
    resume: str | Path | None = None,
    hparams: Mapping[str, Any] | None = None,
) -> FitResult:
    """Train ``network`` on ``problem`` and return the metrics.

    Args:
        problem: The PDE problem.
        network: The network; moved to ``dtype``.
        phases: Optimizer phases (default: Adam, lr 1e-3, for all steps).
        max_steps: Total number of optimizer steps over all phases.
        seed: Seeds the points (and Lightning's global seed).
        run_dir: Folder for TensorBoard logs, checkpoints, plots, ``metrics.json`` and
            ``predictions.npz``; None keeps nothing on disk.
        resample_every: Draw new points every this many steps (0: fixed points).
        dtype: ``torch.float32`` or ``torch.float64``.
        field_mode: Derivative mode, see :class:`deepinn.operators.Field`.
        compile: Run the network's forward passes through ``torch.compile`` (eager fallback).
        log_every: Log the losses every this many steps.
        val_every: Measure the error against the solution every this many steps
            (default: a tenth of ``max_steps``).
        grad_norm_every: Log per-layer gradient norms every this many steps.
        histogram_every: Log weight and gradient histograms every this many steps.
        checkpoint_every: Save ``last.ckpt``/best every this many steps (default: ``val_every``).
        eval_points: Size of the evaluation set.
        trainer_options: Extra ``lightning.Trainer`` arguments (accelerator, devices, strategy).
        logger: Log to TensorBoard (needs ``run_dir``).
        resume: A checkpoint or run folder to continue from.
        hparams: The plain configuration, stored in checkpoints and TensorBoard.

    Returns:
        A :class:`FitResult` with ``metrics`` (rel_l2, final_loss, loss_per_constraint, steps,
        wall_time_s).
    """
    if max_steps <= 0:
        raise ConfigurationError(f"max_steps = {max_steps}; use a positive number of steps.")
    if dtype not in (torch.float32, torch.float64):
        raise ConfigurationError(f"dtype = {dtype}; use torch.float32 or torch.float64.")
    pl.seed_everything(seed, workers=False, verbose=False)
    network = network.to(dtype)
    for parameter in problem.parameters.values():
        parameter.data = parameter.data.to(dtype)
    module = PINNModule(
        problem,
        network,
        phases if phases is not None else adam(),
        log_every=log_every,
        field_mode=field_mode,
        compile=compile,
        hparams=hparams,
    )
    data = CollocationData(problem, seed, resample_every, eval_points, dtype)
    val_every = val_every or max(1, max_steps // 10)
    options = dict(trainer_options or {})
    callbacks: list[pl.Callback] = list(options.pop("callbacks", []))
    run_path = Path(run_dir) if run_dir is not None else None
    loggers: list[Any] = []
    artifacts = None
    if run_path is not None:
        run_path.mkdir(parents=True, exist_ok=True)
        monitor = "val/rel_l2" if problem.has_solution else "train/loss"
        callbacks.append(
            ModelCheckpoint(
                dirpath=run_path / "checkpoints",
                filename="best-{step}",
                monitor=monitor,
                mode="min",
                save_last=True,
                every_n_train_steps=checkpoint_every or val_every,
            )
        )
        artifacts = RunArtifacts(run_path, eval_points)
        callbacks.append(artifacts)
        if logger:
            loggers.append(TensorBoardLogger(save_dir=str(run_path), name="tensorboard", version=""))
            callbacks += [GradientMonitor(grad_norm_every, histogram_every), FigureLogger()]
    trainer = pl.Trainer(
        max_steps=max_steps,
        max_epochs=-1,
        val_check_interval=val_every,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        inference_mode=False,
        use_distributed_sampler=False,
        log_every_n_steps=log_every,
        enable_model_summary=False,
        enable_checkpointing=run_path is not None,
        logger=loggers or False,
        callbacks=callbacks,
        default_root_dir=str(run_path) if run_path is not None else None,
        **options,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Expected here: the points are copied by the module (kept on the device between
        # resamplings), and checkpoints hold the state after each optimizer step.
        warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
        warnings.filterwarnings("ignore", message=".*no pre-optimization state was saved.*")
        warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)`? is deprecated.*")
        _fit(trainer, module, data, resume)
    if artifacts is not None and artifacts.metrics:
        metrics = artifacts.metrics
    else:
        metrics = compute_metrics(module, trainer.global_step, time.perf_counter() - start, eval_points)
    return FitResult(metrics, module, trainer, run_path)
