"""The training service: one call that trains a network on a problem with Lightning."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from deepinn._errors import ConfigurationError, TrainingError
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
    find_checkpoint,
    load_checkpoint_safely,
)
from deepinn.training._data import CollocationData
from deepinn.training._marching import (
    MarchingConfig,
    TimeMarchingNetwork,
    WindowNetwork,
    time_column,
    window_edges,
    window_problem,
)
from deepinn.training._module import PINNModule
from deepinn.training._optim import DTYPES, Phase
from deepinn.training._presets import adam
from deepinn.training._progress import LineProgress, stdout_is_terminal
from deepinn.training._runfolder import held_run_folder, is_secondary_rank
from deepinn.training._settings import RunConfig
from deepinn.training._signals import RunInterruptedError, SignalCheckpoint, SIGTERMException

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


def _resume_checkpoint(run: RunConfig, hparams: Mapping[str, Any] | None) -> str | None:
    """The checked checkpoint to resume from (loaded once, weights-only, and compared)."""
    if run.resume is None:
        return None
    path = find_checkpoint(run.resume, run.resume_from)
    checkpoint = load_checkpoint_safely(path)
    check_compatible(path, checkpoint.get("hyper_parameters") or {}, hparams or {})
    return str(path)


def _fit(trainer: pl.Trainer, module: PINNModule, data: CollocationData, ckpt: str | None) -> None:
    try:
        trainer.fit(module, datamodule=data, ckpt_path=ckpt, weights_only=True if ckpt else None)
    except RuntimeError as error:
        if ckpt is None or "loading state_dict" not in str(error):
            raise
        detail = " ".join(str(error).split())[:300]
        raise ConfigurationError(
            f"resume={ckpt}: the checkpoint does not fit this network ({detail}). Resume with the "
            "network the checkpoint was made with, or start a new run without resume=."
        ) from None


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
    if run.marching.enabled:
        return _fit_marching(
            problem, network, run, phases, max_steps, run_dir, trainer_options, logger, hparams
        )
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
        weighting=run.weighting,
        causal=run.causal,
    )
    eval_points = run.eval_points
    data = CollocationData(problem, seed, run.resample_every, eval_points, dtype)
    ckpt = _resume_checkpoint(run, hparams)
    if run_dir is None:
        return _train(module, data, run, None, max_steps, trainer_options, logger, ckpt)
    with held_run_folder(run_dir, run.resume):
        return _train(module, data, run, Path(run_dir), max_steps, trainer_options, logger, ckpt)


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
        where = f"; resume with: deepinn train resume={run_path}" if run_path is not None else ""
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


def _window_resume(resume: str | None, index: int) -> tuple[Path | None, Path | None]:
    """A resumed marching run's window ``index``: its finished network, or its run folder."""
    if resume is None:
        return None, None
    folder = Path(resume) / "windows" / f"{index:02d}"
    if (folder / "network.pt").is_file():
        return folder / "network.pt", None
    if (folder / "checkpoints" / "last.ckpt").is_file():
        return None, folder
    return None, None


def _fit_marching(
    problem: Problem,
    network: torch.nn.Module,
    run: RunConfig,
    phases: Sequence[Phase] | None,
    max_steps: int,
    run_dir: str | Path | None,
    trainer_options: Mapping[str, Any] | None,
    logger: bool,
    hparams: Mapping[str, Any] | None,
) -> FitResult:
    """Time marching (``run.marching``): one ``fit`` per time window, in time order.

    Window ``k`` trains a fresh copy of ``network`` (seed ``seed + k``) for ``max_steps`` steps in
    the run folder's ``windows/<k>/`` and saves its weights there (``network.pt``); the result's
    network is the :class:`TimeMarchingNetwork` of all windows, measured on the whole problem.
    ``resume=<marching run folder>`` keeps its finished windows and resumes the next one from
    its ``last.ckpt``.
    """
    time_name, windows = run.marching.time, run.marching.windows
    column, t0, t1 = time_column(problem, time_name)
    edges = window_edges(t0, t1, windows)
    layout = {"windows": windows, "time": time_name, "edges": edges}
    if run.resume is not None:
        _check_marching_resume(Path(run.resume), layout)
    single = dataclasses.replace(run, marching=MarchingConfig(1, time_name), resume=None)
    template = copy.deepcopy(network)
    trained: list[torch.nn.Module] = []
    window_metrics: list[dict[str, Any]] = []
    run_path = Path(run_dir) if run_dir is not None else None
    start = time.perf_counter()
    result: FitResult | None = None
    with held_run_folder(run_path, run.resume) if run_path is not None else _nothing():
        if run_path is not None and not is_secondary_rank():
            (run_path / "marching.json").write_text(json.dumps(layout, indent=2) + "\n")
        for k in range(windows):
            net = WindowNetwork(
                copy.deepcopy(template), column, (edges[k], edges[k + 1]), (t0, t1)
            )
            piece = window_problem(
                problem, time_name, edges, k, trained[-1] if trained else None, run.eval_points
            )
            folder = run_path / "windows" / f"{k:02d}" if run_path is not None else None
            finished, resume = _window_resume(run.resume, k)
            logging.getLogger("deepinn.training").info(
                "time window %d of %d: %s in [%g, %g]%s", k, windows, time_name, edges[k],
                edges[k + 1], " (finished before: loaded)" if finished is not None else "",
            )
            if finished is not None:
                trained.append(_load_window(net, finished, hparams))
                window_metrics.append({**_stored_metrics(finished.parent), "window": k,
                                       "resumed": str(finished)})
                if folder is not None and folder != finished.parent and not is_secondary_rank():
                    folder.mkdir(parents=True, exist_ok=True)
                    torch.save(trained[-1].state_dict(), folder / "network.pt")
                continue
            restart = run.resume is not None and folder is not None and folder.is_dir()
            restart = restart and resume is None
            if restart and not is_secondary_rank():
                _set_aside(folder)  # type: ignore[arg-type]  # stopped before a checkpoint
            options = dataclasses.replace(
                single, seed=run.seed + k, resume=str(resume) if resume else None
            )
            try:
                result = fit(
                    piece, net, options, phases=phases, max_steps=max_steps, run_dir=folder,
                    trainer_options=trainer_options, logger=logger, hparams=hparams,
                )
            except RunInterruptedError as error:
                trained.append(net)
                window_metrics.append({"window": k, **error.metrics})
                summary = _marching_summary(
                    problem, trained, column, edges, window_metrics, run, start, run_path
                )
                where = f"; resume with: deepinn train resume={run_path}" if run_path else ""
                raise RunInterruptedError(
                    f"stopped by SIGTERM in time window {k} of {windows}{where}",
                    summary.metrics,
                    error.checkpoint,
                ) from None
            except TrainingError as error:
                where = f" (continue the whole run with resume={run_path})" if run_path else ""
                raise TrainingError(f"time window {k} of {windows}: {error}{where}") from None
            trained.append(result.network)
            window_metrics.append({"window": k, **result.metrics})
            if folder is not None and not is_secondary_rank():
                torch.save(result.network.state_dict(), folder / "network.pt")
        summary = _marching_summary(
            problem, trained, column, edges, window_metrics, run, start, run_path,
            trainer=result.trainer if result is not None else None,
        )
    return summary


def _load_window(
    net: torch.nn.Module, path: Path, hparams: Mapping[str, Any] | None
) -> torch.nn.Module:
    """A finished window's network from its ``network.pt``, checked like a resumed checkpoint
    against the configuration its window's ``last.ckpt`` records."""
    last = path.parent / "checkpoints" / "last.ckpt"
    if last.is_file():
        stored = load_checkpoint_safely(last).get("hyper_parameters") or {}
        check_compatible(last, stored, hparams or {})
    state = torch.load(path, weights_only=True, map_location="cpu")
    net = net.to(next(iter(state.values())).dtype)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        detail = " ".join(str(error).split())[:300]
        raise ConfigurationError(
            f"resume: {path} does not fit this network ({detail}). Resume with the network the "
            "run was made with, or start a new run without resume=."
        ) from None
    return net


def _set_aside(folder: Path) -> None:
    """Rename a window folder that holds no checkpoint to ``<k>-unfinished[-n]`` (nothing is
    deleted), so the window trains again in a fresh folder."""
    for index in range(10_000):
        target = folder.with_name(f"{folder.name}-unfinished" + (f"-{index}" if index else ""))
        if not target.exists():
            folder.rename(target)
            logging.getLogger("deepinn.training").info(
                "time window folder %s had no checkpoint; kept as %s", folder, target.name
            )
            return


def _stored_metrics(folder: Path) -> dict[str, Any]:
    """A finished window's ``metrics.json`` (empty when it has none)."""
    try:
        return dict(json.loads((folder / "metrics.json").read_text()))
    except (OSError, ValueError):
        return {}


def _check_marching_resume(folder: Path, layout: dict[str, Any]) -> None:
    """Refuse to resume a folder that is not a marching run with the same windows."""
    record = folder / "marching.json"
    if not record.is_file():
        raise ConfigurationError(
            f"resume={folder}: with marching.windows={layout['windows']} give the folder of a "
            f"time marching run (it holds marching.json and windows/<k>/); {folder} has none."
        )
    stored = json.loads(record.read_text())
    if stored != layout:
        raise ConfigurationError(
            f"resume={folder}: that run marched in {stored.get('windows')} windows of "
            f"{stored.get('time')!r} over {stored.get('edges')}, this one in {layout['windows']} "
            f"of {layout['time']!r} over {layout['edges']}. Resume with its marching.* settings "
            "or start a new run without resume=."
        )


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def _marching_summary(
    problem: Problem,
    trained: list[torch.nn.Module],
    column: int,
    edges: list[float],
    window_metrics: list[dict[str, Any]],
    run: RunConfig,
    start: float,
    run_path: Path | None,
    trainer: pl.Trainer | None = None,
) -> FitResult:
    """The windows as one network, measured on the whole problem (and written to ``run_path``
    by rank 0)."""
    composite = TimeMarchingNetwork(trained, column, edges[: len(trained) + 1])
    module = PINNModule(problem, composite, adam(), field_mode=run.field_mode)
    steps = sum(int(m.get("steps", 0)) for m in window_metrics)
    metrics = compute_metrics(module, steps, time.perf_counter() - start, run.eval_points)
    last = window_metrics[-1]
    metrics["final_loss"] = last.get("final_loss")
    metrics["loss_per_constraint"] = last.get("loss_per_constraint", {})
    metrics["windows"] = window_metrics
    if "stop_reason" in last:
        metrics["stop_reason"] = f"time window {last['window']}: {last['stop_reason']}"
    if run_path is not None and not is_secondary_rank():
        write_artifacts(run_path, module, metrics, run.eval_points)
    return FitResult(metrics, module, trainer, run_path)
