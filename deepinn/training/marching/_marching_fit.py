"""The time-marching run: one :func:`~deepinn.training.fit` per time window, in time order.

The windows' problems are built by :mod:`deepinn.training.marching._marching`, their networks by
:mod:`deepinn.training.marching._networks`; this module trains them one after the other, keeps
each window's run folder and weights, resumes a stopped run window by window and measures the
windows together on the whole problem.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

from deepinn._errors import ConfigurationError, TrainingError
from deepinn.problems import Problem
from deepinn.training.marching._marching import time_column, window_edges, window_problem
from deepinn.training.marching._networks import TimeMarchingNetwork, WindowNetwork
from deepinn.training.service._callbacks import compute_metrics, write_artifacts
from deepinn.training.service._checkpoint import does_not_fit, load_checkpoint_safely
from deepinn.training.service._compatible import check_compatible
from deepinn.training.service._fit import FitResult, train_once
from deepinn.training.service._runfolder import (
    held_run_folder,
    is_secondary_rank,
    resume_setting,
)
from deepinn.training.service._signals import RunInterruptedError
from deepinn.training.settings._optim import Phase
from deepinn.training.settings._presets import adam
from deepinn.training.settings._sections import MarchingConfig
from deepinn.training.settings._settings import RunConfig
from deepinn.training.step._module import PINNModule

__all__ = ["fit_marching"]


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


def fit_marching(
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
    trained: list[torch.nn.Module] = []
    window_metrics: list[dict[str, Any]] = []
    run_path = Path(run_dir) if run_dir is not None else None
    start = time.perf_counter()
    result: FitResult | None = None
    modes: dict[str, str] = {}  # field_mode=auto: the paths the first window chose, for all
    held = held_run_folder(run_path, run.resume) if run_path is not None else nullcontext()
    with held:
        if run_path is not None and not is_secondary_rank():
            (run_path / "marching.json").write_text(json.dumps(layout, indent=2) + "\n")
        for k in range(windows):
            net = WindowNetwork(
                copy.deepcopy(network), column, (edges[k], edges[k + 1]), (t0, t1)
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
                loaded, stored_modes = _load_window(net, finished, hparams)
                trained.append(loaded)
                modes = modes or stored_modes
                window_metrics.append({**_stored_metrics(finished.parent), "window": k,
                                       "resumed": str(finished)})
                if folder is not None and folder != finished.parent and not is_secondary_rank():
                    folder.mkdir(parents=True, exist_ok=True)
                    torch.save(trained[-1].state_dict(), folder / "network.pt")
                continue
            if run.resume and resume is None and folder is not None and folder.is_dir():
                _set_aside(folder)  # stopped before its first checkpoint: train it again
            options = dataclasses.replace(
                single, seed=run.seed + k, resume=str(resume) if resume else None
            )
            window_options = dict(trainer_options or {})
            if modes and run.field_mode == "auto":
                window_options["callbacks"] = [
                    *window_options.get("callbacks", []), _SameModes(modes)
                ]
            try:
                result = train_once(
                    piece, net, options, phases, max_steps, folder, window_options, logger,
                    hparams,
                )
            except RunInterruptedError as error:
                trained.append(net)
                window_metrics.append({"window": k, **error.metrics})
                summary = _marching_summary(
                    problem, trained, column, edges, window_metrics, run, start, run_path
                )
                fix = [resume_setting(run_path)] if run_path else []
                raise RunInterruptedError(
                    f"stopped by {error.signal_name} in time window {k} of {windows}"
                    + ("; resume with: {fix}" if fix else ""),
                    summary.metrics,
                    error.checkpoint,
                    fix=fix,
                    signal_name=error.signal_name,
                ) from None
            except TrainingError as error:
                raise _in_window(error, k, windows, run_path) from None
            trained.append(result.network)
            modes = modes or dict(result.module.loss.group_modes or {})
            window_metrics.append({"window": k, **result.metrics})
            if folder is not None and not is_secondary_rank():
                torch.save(result.network.state_dict(), folder / "network.pt")
        summary = _marching_summary(
            problem, trained, column, edges, window_metrics, run, start, run_path,
            trainer=result.trainer if result is not None else None,
        )
    return summary


def _in_window(
    error: TrainingError, k: int, windows: int, run_path: Path | None
) -> TrainingError:
    """``error`` of window ``k``: the same fix, and (with a run folder) the whole run continued
    from ``run_path`` instead of the window's own folder."""
    message = str(error.args[0]) if error.args else ""
    fix = list(error.fix)
    if run_path is not None:
        fix = [s for s in fix if s.key != "resume"] + [resume_setting(run_path)]
        if "{fix}" not in message:
            message += " Continue the whole run: {fix}"
    return TrainingError(f"time window {k} of {windows}: {message}", fix=fix)


class _SameModes(pl.Callback):
    """A window trained afresh takes the derivative paths that ``field_mode=auto`` timed for the
    run's first window (kept in its checkpoint), as a resumed window takes its checkpoint's: every
    window computes alike whether the run was stopped and resumed or not (under ``compile`` the
    paths are the ones it falls back on, as for a resume)."""

    def __init__(self, modes: Mapping[str, str]) -> None:
        self.modes = dict(modes)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.ckpt_path is not None or not isinstance(pl_module, PINNModule):
            return  # a resumed window keeps its checkpoint's
        if pl_module.loss.compile:
            pl_module.loss.saved_modes = dict(self.modes)
        else:
            pl_module.loss.group_modes = dict(self.modes)


def _load_window(
    net: torch.nn.Module, path: Path, hparams: Mapping[str, Any] | None
) -> tuple[torch.nn.Module, dict[str, str]]:
    """A finished window's network from its ``network.pt``, checked like a resumed checkpoint
    against the configuration its window's ``last.ckpt`` records, and the derivative paths
    that checkpoint keeps (``field_mode=auto``; empty when none)."""
    last = path.parent / "checkpoints" / "last.ckpt"
    modes: dict[str, str] = {}
    if last.is_file():
        loaded = load_checkpoint_safely(last)
        check_compatible(last, loaded.get("hyper_parameters") or {}, hparams or {})
        modes = dict(loaded.get("deepinn_group_modes") or {})
    state = torch.load(path, weights_only=True, map_location="cpu")
    net = net.to(next(iter(state.values())).dtype)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:
        raise does_not_fit(path, error) from None
    return net, modes


def _set_aside(folder: Path) -> None:
    """Rename a window folder that holds no checkpoint to ``<k>-unfinished[-n]`` (nothing is
    deleted; rank 0 only), so the window trains again in a fresh folder."""
    if is_secondary_rank():
        return
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
    # measured, never trained: the run's derivatives, none of its compile or toolbox settings
    module = PINNModule(problem, composite, adam(), RunConfig(field_mode=run.field_mode))
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
