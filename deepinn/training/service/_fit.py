"""The training service: one call that trains a network on a problem with Lightning."""

from __future__ import annotations

import itertools
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

from deepinn.problems import Problem
from deepinn.training.service._allocator import keep_freed_memory
from deepinn.training.service._callbacks import (
    FigureLogger,
    GradientMonitor,
    RunArtifacts,
    compute_metrics,
    write_artifacts,
)
from deepinn.training.service._checkpoint import (
    AtomicCheckpointIO,
    does_not_fit,
    find_checkpoint,
    load_checkpoint_safely,
)
from deepinn.training.service._compatible import check_compatible, check_fits, check_steps_left
from deepinn.training.service._progress import progress_callbacks, quiet_lightning
from deepinn.training.service._runfolder import (
    held_run_folder,
    resume_setting,
    run_folder_setting,
)
from deepinn.training.service._signals import (
    LastCheckpoint,
    RunInterruptedError,
    SIGTERMException,
    sigint_as_sigterm,
)
from deepinn.training.service._threads import run_threads
from deepinn.training.service._warmstart import initialise_from
from deepinn.training.settings._optim import Phase
from deepinn.training.settings._settings import RunConfig
from deepinn.training.step._data import CollocationData
from deepinn.training.step._module import PINNModule
from deepinn.training.step._stepping import steps_per_batch
from deepinn.training.toolbox._physics_init import physics_informed_init

__all__ = ["FitResult", "checkpoint_path", "train_once"]


@dataclass
class FitResult:
    """What a training run produced."""

    metrics: dict[str, Any]
    module: PINNModule
    trainer: pl.Trainer | None  # None: a resumed time-marching run found every window trained
    run_dir: Path | None

    @property
    def network(self) -> torch.nn.Module:
        return self.module.net


def checkpoint_path(resume: str | Path, resume_from: str = "last") -> Path:
    """The checkpoint to resume from: a ``.ckpt`` file, or a run folder's ``checkpoints/last.ckpt``
    (``resume_from="best"``: its ``best-*.ckpt``)."""
    return find_checkpoint(resume, resume_from)


def _resume_checkpoint(
    run: RunConfig, hparams: Mapping[str, Any] | None, max_steps: int, module: PINNModule
) -> str | None:
    """The checked checkpoint to resume from (loaded once, weights-only, compared with the
    configuration and, by names and shapes, with the module's weights)."""
    if run.resume is None:
        return None
    path = find_checkpoint(run.resume, run.resume_from)
    checkpoint = load_checkpoint_safely(path)
    check_compatible(path, checkpoint.get("hyper_parameters") or {}, hparams or {})
    check_fits(path, checkpoint["state_dict"], module.state_dict())
    check_steps_left(path, checkpoint, max_steps)
    return str(path)


def _fit(trainer: pl.Trainer, module: PINNModule, data: CollocationData, ckpt: str | None) -> None:
    try:
        trainer.fit(module, datamodule=data, ckpt_path=ckpt, weights_only=True if ckpt else None)
    except RuntimeError as error:
        if ckpt is None or "loading state_dict" not in str(error):
            raise
        raise does_not_fit(ckpt, error) from None


def train_once(
    problem: Problem,
    network: torch.nn.Module,
    run: RunConfig,
    phases: Sequence[Phase],
    max_steps: int,
    run_dir: str | Path | None,
    trainer_options: Mapping[str, Any] | None,
    logger: bool,
    hparams: Mapping[str, Any],
) -> FitResult:
    """One training run of checked arguments (``deepinn.fit`` checks them and, under time
    marching, calls this once per window)."""
    dtype = run.torch_dtype
    pl.seed_everything(run.seed, workers=False, verbose=False)
    network = network.to(dtype)
    if run.init_from is not None:  # a warm start: a finished run's weights, a new run
        initialise_from(network, run.init_from, problem.parameters)
    elif run.resume is None:  # a fresh run: a PirateNet's last layer fitted to the data
        physics_informed_init(problem, network, run.seed)
    for parameter in problem.parameters.values():
        parameter.data = parameter.data.to(dtype)
    module = PINNModule(problem, network, phases, run, max_steps=max_steps, hparams=hparams)
    data = CollocationData(problem, run, max_steps=max_steps)
    ckpt = _resume_checkpoint(run, hparams, max_steps, module)
    if run.allocator == "auto":
        keep_freed_memory()
    # the run's threads (as they were after); no device lines, tips or "fit stopped" from Lightning
    with run_threads(run.threads, problem, network), quiet_lightning():
        if run_dir is None:
            return _train(module, data, run, None, max_steps, trainer_options, logger, ckpt)
        with held_run_folder(run_dir, run.resume):
            path = Path(run_dir)
            return _train(module, data, run, path, max_steps, trainer_options, logger, ckpt)


def _steps_per_batch(
    module: PINNModule, data: CollocationData, run: RunConfig, max_steps: int
) -> int:
    """Optimizer steps per Lightning batch (see :func:`steps_per_batch`); one with an adaptive
    sampler: the loader fetches a batch ahead, so a round's selection would be scored with weights
    ``steps_per_batch`` steps old instead of one."""
    if data.adaptive:
        return 1
    boundaries = itertools.accumulate(p.steps for p in module.phases if p.steps is not None)
    return steps_per_batch(
        [run.monitor.log_every, run.val_every(max_steps), run.checkpoint_every(max_steps),
         run.resample_every, max_steps, *boundaries]
    )


def _train(
    module: PINNModule,
    data: CollocationData,
    run: RunConfig,
    run_path: Path | None,
    max_steps: int,
    trainer_options: Mapping[str, Any] | None,
    logger: bool,
    ckpt: str | None,
) -> FitResult:
    problem, eval_points = module.problem, run.eval_points
    val_every = run.val_every(max_steps)
    steps = _steps_per_batch(module, data, run, max_steps)
    module.steps_per_batch = data.steps_per_batch = steps
    options = dict(trainer_options or {})
    callbacks: list[pl.Callback] = list(options.pop("callbacks", []))
    callbacks += progress_callbacks(options, callbacks, run.monitor.log_every, max_steps)
    signals = LastCheckpoint(run_path / "checkpoints" if run_path is not None else None)
    callbacks.append(signals)
    loggers: list[Any] = []
    artifacts = None
    if run_path is not None:
        monitor = "val/rel_l2" if problem.has_solution else "train/loss"
        callbacks.append(
            ModelCheckpoint(
                dirpath=run_path / "checkpoints",
                filename="best-{step}",
                monitor=monitor,
                mode="min",
                save_last=True,
                every_n_train_steps=run.checkpoint_every(max_steps),
                enable_version_counter=False,  # the folder belongs to this run
            )
        )
        artifacts = RunArtifacts(run_path, eval_points)
        callbacks.append(artifacts)
        if logger:
            loggers.append(
                TensorBoardLogger(  # no hp_metric = -1 card: the errors are logged as error/*
                    save_dir=str(run_path), name="tensorboard", version="", default_hp_metric=False
                )
            )
            callbacks += [GradientMonitor(run.monitor), FigureLogger(run.figure_share())]
    trainer = pl.Trainer(
        max_steps=max_steps,
        max_epochs=-1,
        val_check_interval=val_every // steps,  # in batches
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
        plugins=[AtomicCheckpointIO()],
        **options,
    )
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # Expected here: the points are copied by the module (kept on the device between
            # resamplings), and checkpoints hold the state after each optimizer step.
            warnings.filterwarnings("ignore", message=".*overridden `transfer_batch_to_device`.*")
            warnings.filterwarnings("ignore", message=".*no pre-optimization state was saved.*")
            warnings.filterwarnings(
                "ignore", message=".*isinstance\\(treespec, LeafSpec\\)`? is deprecated.*"
            )
            # A run folder belongs to one run: its checkpoints are there only when it resumes.
            warnings.filterwarnings("ignore", message="Checkpoint directory .* is not empty")
            with sigint_as_sigterm(signals):
                _fit(trainer, module, data, ckpt)
    except SIGTERMException:
        raise _interrupted(module, trainer, signals, run_path, start, eval_points) from None
    if artifacts is not None and artifacts.metrics:
        metrics = artifacts.metrics
    else:
        elapsed = time.perf_counter() - start
        metrics = compute_metrics(module, trainer.global_step, elapsed, eval_points)
    return FitResult(metrics, module, trainer, run_path)


def _interrupted(
    module: PINNModule,
    trainer: pl.Trainer,
    signals: LastCheckpoint,
    run_path: Path | None,
    start: float,
    eval_points: int,
) -> RunInterruptedError:
    """The error of a run stopped by SIGTERM or SIGINT, after writing its ``metrics.json``."""
    name, step = signals.signal_name or "SIGTERM", trainer.global_step
    metrics = compute_metrics(module, step, time.perf_counter() - start, eval_points)
    metrics.setdefault("stop_reason", f"{name} at step {step}")
    if run_path is None:
        return RunInterruptedError(
            f"stopped by {name} at step {step}; nothing was saved (the run has no run folder). "
            "To keep a run's checkpoints and metrics, and resume it, give it a folder: {fix}",
            metrics, None, fix=[run_folder_setting("<folder>")], signal_name=name,
        )
    if trainer.is_global_zero:
        write_artifacts(run_path, module, metrics, eval_points)
    return RunInterruptedError(
        f"stopped by {name} at step {step}; last.ckpt and metrics.json saved; resume with: {{fix}}",
        metrics, signals.saved, fix=[resume_setting(run_path)], signal_name=name,
    )
