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

from deepinn._errors import ConfigurationError
from deepinn.problems import Problem
from deepinn.training._callbacks import (
    FigureLogger,
    GradientMonitor,
    RunArtifacts,
    compute_metrics,
    write_artifacts,
)
from deepinn.training._checkpoint import (
    AtomicCheckpointIO,
    check_compatible,
    check_steps_left,
    describe_python_run,
    does_not_fit,
    find_checkpoint,
    load_checkpoint_safely,
    optimizer_name,
)
from deepinn.training._compile import AUTO_COMPILE_STEPS
from deepinn.training._data import CollocationData
from deepinn.training._module import PINNModule
from deepinn.training._optim import DTYPES, Phase
from deepinn.training._presets import adam
from deepinn.training._progress import LineProgress, stdout_is_terminal
from deepinn.training._runfolder import held_run_folder
from deepinn.training._settings import RunConfig
from deepinn.training._signals import RunInterruptedError, SignalCheckpoint, SIGTERMException
from deepinn.training._stepping import steps_per_batch

__all__ = ["FitResult", "checkpoint_path", "fit"]


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
    run: RunConfig, hparams: Mapping[str, Any] | None, max_steps: int
) -> str | None:
    """The checked checkpoint to resume from (loaded once, weights-only, and compared)."""
    if run.resume is None:
        return None
    path = find_checkpoint(run.resume, run.resume_from)
    checkpoint = load_checkpoint_safely(path)
    check_compatible(path, checkpoint.get("hyper_parameters") or {}, hparams or {})
    check_steps_left(path, checkpoint, max_steps)
    return str(path)


def _fit(trainer: pl.Trainer, module: PINNModule, data: CollocationData, ckpt: str | None) -> None:
    try:
        trainer.fit(module, datamodule=data, ckpt_path=ckpt, weights_only=True if ckpt else None)
    except RuntimeError as error:
        if ckpt is None or "loading state_dict" not in str(error):
            raise
        raise does_not_fit(ckpt, error) from None


def fit(
    problem: Problem,
    network: torch.nn.Module,
    config: RunConfig | None = None,
    *,
    phases: Sequence[Phase] | Phase | None = None,
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
        phases: Optimizer phases (default: Adam, lr 1e-3, for all steps), or one phase
            (``deepinn.training.lbfgs()``).
        max_steps: Total number of optimizer steps over all phases.
        run_dir: Folder for TensorBoard logs, checkpoints, plots, ``metrics.json`` and
            ``predictions.npz``; None keeps nothing on disk.
        trainer_options: Extra ``lightning.Trainer`` arguments (accelerator, devices, strategy).
        logger: Log to TensorBoard (needs ``run_dir``).
        hparams: The plain configuration, stored in checkpoints and TensorBoard. Without it (a
            run started from Python) a description of the run stands in
            (``describe_python_run``: the problem's name, outputs and constraints, the domain,
            the network's size, the samplers, dtype, seed and optimizers), so that resuming
            into another problem or setting is refused as for ``deepinn train``.
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
    _check_network(problem, network)
    run = (config or RunConfig()).replace(**knobs)
    if isinstance(phases, Phase):
        phases = [phases]
    if phases is not None and (
        isinstance(phases, str) or not all(isinstance(p, Phase) for p in phases)
    ):
        raise ConfigurationError(
            f"fit: phases = {phases!r}; give optimizer phases, e.g. "
            "phases=deepinn.training.adam(lr=1e-3), adam_lbfgs(adam_steps=1000) or lbfgs(), or "
            "a list of deepinn.training.Phase."
        )
    phases = list(phases) if phases is not None else adam()
    _warn_unreached_phases(phases, max_steps)
    if hparams is None:  # a run started from Python: what a resume must share with it
        hparams = describe_python_run(problem, network, run, phases)
    if run.marching.enabled:
        from deepinn.training._marching_fit import fit_marching  # it calls fit once per window

        return fit_marching(
            problem, network, run, phases, max_steps, run_dir, trainer_options, logger, hparams
        )
    seed, dtype = run.seed, run.torch_dtype
    if run.threads is not None:
        torch.set_num_threads(run.threads)
    pl.seed_everything(seed, workers=False, verbose=False)
    network = network.to(dtype)
    for parameter in problem.parameters.values():
        parameter.data = parameter.data.to(dtype)
    compile = run.compile
    if compile == "auto" and max_steps < AUTO_COMPILE_STEPS:
        compile = False  # the compile would not pay back in so few steps
    module = PINNModule(
        problem,
        network,
        phases,
        log_every=run.monitor.log_every,
        field_mode=run.field_mode,
        compile=compile,
        hparams=hparams,
        weighting=run.weighting,
        causal=run.causal,
    )
    eval_points = run.eval_points
    data = CollocationData(problem, seed, run.resample_every, eval_points, dtype)
    if data.adaptive and run.resample_every >= max_steps:
        raise ConfigurationError(
            f"sampler=adaptive (constraints {data.adaptive}) with resample_every = "
            f"{run.resample_every} and max_steps = {max_steps}: the points would never be "
            "re-selected from the residual. Set resample_every below max_steps (e.g. "
            f"resample_every={max(1, max_steps // 10)}) or use another sampler."
        )
    ckpt = _resume_checkpoint(run, hparams, max_steps)
    if run_dir is None:
        return _train(module, data, run, None, max_steps, trainer_options, logger, ckpt)
    with held_run_folder(run_dir, run.resume):
        return _train(module, data, run, Path(run_dir), max_steps, trainer_options, logger, ckpt)


def _warn_unreached_phases(phases: Sequence[Phase], max_steps: int) -> None:
    """Warn of optimizer phases that start at or after ``max_steps``: they would never run."""
    start = 0
    for index, phase in enumerate(phases):
        if index > 0 and start >= max_steps:
            warnings.warn(
                f"Optimizer phase {index} ({optimizer_name(phase)}) starts at step {start}, but "
                f"the run stops at max_steps = {max_steps}: it never runs. Raise max_steps "
                "(trainer.max_steps) above the steps before it, or shorten those "
                "(optimizer.adam_steps).",
                UserWarning,
                stacklevel=3,
            )
            return
        start += phase.steps or 0


def _check_network(problem: Problem, network: Any) -> None:
    """Refuse what cannot be ``problem``'s network: not a torch module, or (where the network
    says so, as ``in_dim`` / ``out_dim``) another number of inputs or outputs."""
    if not isinstance(problem, Problem):
        raise ConfigurationError(
            f"fit: problem = {problem!r} is a {type(problem).__name__}, not a deepinn.Problem; "
            "build one with dp.Problem(name, domain, constraints, ...)."
        )
    dim, names = problem.space.dim, problem.space.coordinate_names()
    outputs = len(problem.outputs)
    example = f"dp.nn.FullyConnected([{dim}, 32, 32, {outputs}], 'tanh')"
    if not isinstance(network, torch.nn.Module):
        raise ConfigurationError(
            f"fit: network = {network!r} is a {type(network).__name__}, not a torch.nn.Module "
            f"(its weights are what fit trains); give one, e.g. {example}."
        )
    in_dim, out_dim = getattr(network, "in_dim", None), getattr(network, "out_dim", None)
    if isinstance(in_dim, int) and in_dim != dim:
        raise ConfigurationError(
            f"fit: the network takes {in_dim} inputs, but problem {problem.name!r} is posed in "
            f"{problem.space!r}: {dim} coordinate(s) {list(names)}. Build the network with "
            f"{dim} inputs, e.g. {example}."
        )
    if isinstance(out_dim, int) and out_dim != outputs:
        raise ConfigurationError(
            f"fit: the network has {out_dim} outputs, but problem {problem.name!r} has "
            f"{outputs}: {list(problem.outputs)}. Build it with one output per problem output, "
            f"e.g. {example}."
        )


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
    if options.get("enable_progress_bar", True) and not stdout_is_terminal():
        options["enable_progress_bar"] = False  # no carriage-return bar in a log file
        callbacks.append(LineProgress(run.monitor.log_every, max_steps))
    signals = SignalCheckpoint(run_path / "checkpoints" if run_path is not None else None)
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
                TensorBoardLogger(save_dir=str(run_path), name="tensorboard", version="")
            )
            monitor_every = run.monitor
            callbacks += [
                GradientMonitor(monitor_every.grad_norm_every, monitor_every.histogram_every),
                FigureLogger(),
            ]
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
            _fit(trainer, module, data, ckpt)
    except SIGTERMException:
        elapsed = time.perf_counter() - start
        metrics = compute_metrics(module, trainer.global_step, elapsed, eval_points)
        metrics.setdefault("stop_reason", f"SIGTERM at step {trainer.global_step}")
        if run_path is not None and trainer.is_global_zero:
            write_artifacts(run_path, module, metrics, eval_points)
        where = (
            f"; resume with: deepinn train resume={run_path} (in deepinn.fit: "
            f"resume='{run_path}')"
            if run_path is not None
            else ""
        )
        raise RunInterruptedError(
            f"stopped by SIGTERM at step {trainer.global_step}; last.ckpt and metrics.json "
            f"saved{where}",
            metrics,
            signals.saved,
        ) from None
    if artifacts is not None and artifacts.metrics:
        metrics = artifacts.metrics
    else:
        elapsed = time.perf_counter() - start
        metrics = compute_metrics(module, trainer.global_step, elapsed, eval_points)
    return FitResult(metrics, module, trainer, run_path)

