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
from deepinn.training._optim import DTYPES, Phase
from deepinn.training._presets import adam
from deepinn.training._settings import RunConfig

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
    config: RunConfig | None = None,
    *,
    phases: Sequence[Phase] | None = None,
    max_steps: int = 2000,
    run_dir: str | Path | None = None,
    trainer_options: Mapping[str, Any] | None = None,
    logger: bool = True,
    hparams: Mapping[str, Any] | None = None,
    **knobs: Any,
) -> FitResult:
    """Train ``network`` on ``problem`` and return the metrics.

    Args:
        problem: The PDE problem.
        network: The network; moved to the run's dtype.
        config: The run's knobs (:class:`RunConfig`: seed, dtype, field_mode, compile,
            resample_every, eval_points, resume, threads, monitor intervals).
        phases: Optimizer phases (default: Adam, lr 1e-3, for all steps).
        max_steps: Total number of optimizer steps over all phases.
        run_dir: Folder for TensorBoard logs, checkpoints, plots, ``metrics.json`` and
            ``predictions.npz``; None keeps nothing on disk.
        trainer_options: Extra ``lightning.Trainer`` arguments (accelerator, devices, strategy).
        logger: Log to TensorBoard (needs ``run_dir``).
        hparams: The plain configuration, stored in checkpoints and TensorBoard.
        **knobs: Fields of ``config`` to change, by name (``seed=1,
            dtype=torch.float64, log_every=5``; monitor intervals may be given flat).

    Returns:
        A :class:`FitResult` with ``metrics`` (rel_l2, final_loss, loss_per_constraint, steps,
        wall_time_s).

    Raises:
        ConfigurationError: An unknown knob or a bad value (before anything is trained).
    """
    if isinstance(knobs.get("dtype"), torch.dtype):
        names = {value: key for key, value in DTYPES.items()}
        if knobs["dtype"] not in names:
            raise ConfigurationError(
                f"dtype = {knobs['dtype']}; use torch.float32 or torch.float64."
            )
        knobs["dtype"] = names[knobs["dtype"]]
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ConfigurationError(f"max_steps = {max_steps!r}; use a positive number of steps.")
    run = (config or RunConfig()).replace(**knobs)
    seed, dtype = run.seed, run.torch_dtype
    if run.threads is not None:
        torch.set_num_threads(run.threads)
    pl.seed_everything(seed, workers=False, verbose=False)
    network = network.to(dtype)
    for parameter in problem.parameters.values():
        parameter.data = parameter.data.to(dtype)
    module = PINNModule(
        problem,
        network,
        phases if phases is not None else adam(),
        log_every=run.monitor.log_every,
        field_mode=run.field_mode,
        compile=run.compile,
        hparams=hparams,
    )
    eval_points = run.eval_points
    data = CollocationData(problem, seed, run.resample_every, eval_points, dtype)
    val_every = run.val_every(max_steps)
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
                every_n_train_steps=run.checkpoint_every(max_steps),
            )
        )
        artifacts = RunArtifacts(run_path, eval_points)
        callbacks.append(artifacts)
        if logger:
            loggers.append(TensorBoardLogger(save_dir=str(run_path), name="tensorboard", version=""))
            monitor_every = run.monitor
            callbacks += [
                GradientMonitor(monitor_every.grad_norm_every, monitor_every.histogram_every),
                FigureLogger(),
            ]
    trainer = pl.Trainer(
        max_steps=max_steps,
        max_epochs=-1,
        val_check_interval=val_every,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        inference_mode=False,
        use_distributed_sampler=False,
        log_every_n_steps=run.monitor.log_every,
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
        _fit(trainer, module, data, run.resume)
    if artifacts is not None and artifacts.metrics:
        metrics = artifacts.metrics
    else:
        metrics = compute_metrics(module, trainer.global_step, time.perf_counter() - start, eval_points)
    return FitResult(metrics, module, trainer, run_path)
