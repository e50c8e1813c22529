"""The main job: ``deepinn train <overrides>`` (and ``python train.py`` in a checkout).

The configuration is packaged in ``deepinn/conf`` (Hydra's package search path), so the command
runs from any directory and writes its run folder under the current one. A user's own YAML joins
with ``--config-dir DIR`` (e.g. ``deepinn train --config-dir myconf +experiment=mypde``).

A run composes its configuration once, types it once and builds each component once; every
check (composition, types, values, the memory estimate, the components' own, a resume's
checkpoint) comes before the run folder is claimed, so an error is one line
``deepinn train: error: ...`` with exit status 1 and a refused run creates nothing. The built
components are then trained inside Hydra's job (its ``.hydra/`` and ``train.log``). Errors are
rendered in the command line's syntax (``deepinn train key=value``). ``resume=<run folder>``
composes the folder's stored overrides before the given ones and continues in that folder
(:mod:`deepinn.app._resume`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType, ValueType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from deepinn._errors import DeepinnError, spoken_as
from deepinn.app._build import (
    Components,
    build,
    build_domain,
    check_launch,
    fit_components,
    plain,
    run_from_config,
    target_refusal,
    typed_config,
)
from deepinn.app._hydra import HydraSession, hand_to_hydra, parse_arguments, runs_in_hydra
from deepinn.app._memory import check_memory
from deepinn.app._messages import composition_message
from deepinn.app._resume import ResumePlan, plan_resume
from deepinn.app._schema import TrainConfig
from deepinn.app._store import register_configs
from deepinn.app._summary import summary
from deepinn.app._yamlfiles import check_config_dir
from deepinn.plugins import PluginWarning, Registry, load_registry
from deepinn.training import FitResult
from deepinn.training.service._checkpoint import find_checkpoint, load_checkpoint_safely
from deepinn.training.service._compatible import check_compatible, check_steps_left
from deepinn.training.service._runfolder import (
    claim_run_folder,
    is_secondary_rank,
    make_unique_folder,
    release_run_folder,
)
from deepinn.training.service._signals import RunInterruptedError

__all__ = ["train"]


def _fail(error: DeepinnError | str) -> NoReturn:
    message = " ".join(str(error).split())  # one line, whatever the source
    print(f"deepinn train: error: {message}", file=sys.stderr)
    sys.exit(1)


def _to_log_file(text: str) -> None:
    """``text`` into the run's ``train.log`` (Hydra's file handler), not to the console again."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            for line in text.splitlines():
                record = logging.LogRecord("deepinn", logging.INFO, __file__, 0, line, None, None)
                handler.emit(record)


@dataclass
class _Run:
    """One run, checked and built: what Hydra's job trains."""

    config: TrainConfig
    parts: Components
    hparams: dict[str, Any]
    run_dir: str


def _finish(run_dir: str, tensorboard: bool, train: Callable[[], FitResult]) -> float | None:
    """Call ``train()`` and print the run's summary; a refused or interrupted run exits."""
    try:
        result = train()
    except RunInterruptedError as stop:
        text = summary(stop.metrics, run_dir, tensorboard=tensorboard)
        print(text, flush=True)
        _to_log_file(text)
        print(f"deepinn train: {stop}", file=sys.stderr)
        sys.exit(stop.exit_status)
    except DeepinnError as error:
        _to_log_file(f"deepinn train: error: {error}")
        _fail(error)
    if result.trainer is None or result.trainer.is_global_zero:  # None: nothing left to train
        text = summary(result.metrics, run_dir, tensorboard=tensorboard)
        print(text)
        _to_log_file(text)
    value = result.metrics.get("rel_l2", result.metrics.get("final_loss"))
    return float(value) if value is not None else None


def _sweep_job(cfg: DictConfig, registry: Registry) -> float | None:
    """One job of Hydra's own commands (a sweep's): checked, built and trained as it runs."""
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    chosen = _explicit(_parse(list(hydra_cfg.overrides.task)), "domain")

    def train() -> FitResult:
        check_launch(cfg, hydra_cfg)
        return run_from_config(cfg, registry, run_dir, chosen_domain=chosen)

    return _finish(run_dir, bool(cfg.logger.tensorboard), train)


# ---------------------------------------------------------------------- checks before the run
def _parse(overrides: Sequence[str]) -> list[Override]:
    """The overrides as Hydra reads them (a bad one raises ``OverrideParseException``)."""
    return OverridesParser.create().parse_overrides(list(overrides))


def _entries_merged(overrides: Sequence[str]) -> list[str]:
    """``overrides`` with each new entry given whole (``+problem.constraints.start={kind: ...}``)
    written as the mapping merged into its parent (``+problem.constraints={start: {kind: ...}}``).

    OmegaConf assigns a plain mapping only into an existing entry of a typed mapping, but merges
    one into the mapping itself; Hydra gives both forms the same result wherever the first works.
    """
    merged = []
    for text in overrides:
        try:
            (override,) = _parse([text])
        except (HydraException, ValueError):
            merged.append(text)  # refused with its own message when composed
            continue
        key = override.key_or_group
        adds = override.type in (OverrideType.ADD, OverrideType.FORCE_ADD)
        whole = override.value_type == ValueType.ELEMENT and isinstance(override.value(), dict)
        if adds and whole and override.package is None and "/" not in key and "." in key:
            parent, leaf = key.rsplit(".", 1)
            plus = "++" if override.type == OverrideType.FORCE_ADD else "+"
            text = f"{plus}{parent}={{{leaf}: {text.split('=', 1)[1]}}}"
        merged.append(text)
    return merged


def _explicit(overrides: Sequence[Override], key: str) -> str | None:
    """The value an override gives ``key`` (``domain=circle``), None when none does."""
    for override in reversed(overrides):
        if override.key_or_group == key and not override.is_delete():
            value = override.value()
            return None if value is None else str(value)
    return None


def _values(overrides: Sequence[Override]) -> dict[str, str]:
    """Each override's value as typed, by key (for the messages)."""
    values = {}
    for override in overrides:
        try:
            values[override.key_or_group] = override.get_value_element_as_str()
        except (HydraException, ValueError):  # a sweep or a deletion has no single value
            continue
    return values


def _job_config(cfg: DictConfig) -> DictConfig:
    """The job's configuration: ``cfg`` without Hydra's node (a copy)."""
    job = cfg.copy()
    with read_write(job), open_dict(job):
        del job["hydra"]
    return job


def _check_resume(config: TrainConfig, hparams: dict[str, Any], plan: ResumePlan) -> None:
    """A bad checkpoint, or one of another configuration, is refused before any folder exists,
    naming the override given now that conflicts (time marching checks each window's)."""
    if config.resume is None or config.marching.enabled:
        return
    checkpoint = find_checkpoint(config.resume, config.resume_from)
    loaded = load_checkpoint_safely(checkpoint)
    stored = loaded.get("hyper_parameters") or {}
    check_compatible(checkpoint, stored, hparams, overrides=plan.given)
    check_steps_left(checkpoint, loaded, config.trainer.max_steps)


def _run_folder(
    cfg: DictConfig, overrides: Sequence[Override], resume: str | None, plan: ResumePlan
) -> str:
    """Claim the run folder: ``hydra.run.dir`` as given, the resumed run's own folder (its
    TensorBoard curves continue there), or a fresh one named after ``hydra.run.dir``."""
    run_dir = str(OmegaConf.select(cfg, "hydra.run.dir"))
    if is_secondary_rank():
        return run_dir  # DDP ranks > 0 write into rank 0's folder
    if _explicit(overrides, "hydra.run.dir") is not None:
        claim_run_folder(run_dir, resume)
        return run_dir
    if plan.folder is not None:
        claim_run_folder(plan.folder, resume)
        return str(plan.folder)
    folder = make_unique_folder(run_dir)
    claim_run_folder(folder, resume)
    return str(folder)


def _prepare(
    session: HydraSession, args: argparse.Namespace, registry: Registry, plan: ResumePlan
) -> tuple[DictConfig, _Run]:
    """Compose, type, check and build once, then claim the run folder (``plan``: a resumed run
    folder's stored overrides are in ``args`` already).

    Returns:
        Hydra's whole configuration (to run the job with) and the run.
    """
    overrides = list(args.overrides)
    parsed: list[Override] = []
    try:
        parsed = _parse(overrides)
        cfg = session.compose(overrides)
    except (HydraException, OmegaConfBaseException) as error:
        _fail(composition_message(error, _values(parsed), registry.disabled_note()))
    job = _job_config(cfg)
    config = typed_config(job)
    if isinstance(config.threads, int):  # auto is resolved by fit, for the problem's size
        torch.set_num_threads(config.threads)
    domain = build_domain(config, registry)
    check_memory(job, int(domain.dim))  # before anything large is allocated
    parts = build(config, registry, domain=domain, chosen_domain=_explicit(parsed, "domain"))
    parts.problem.evaluation_set(config.eval_points)  # an exact solution that fails
    hparams = plain(job)
    _check_resume(config, hparams, plan)
    run_dir = _run_folder(cfg, parsed, config.resume, plan)
    return cfg, _Run(config, parts, hparams, run_dir)


def train(overrides: Sequence[str]) -> int:
    """Run the main job with Hydra ``overrides`` (and Hydra flags: ``-m``, ``--cfg job``, ...).

    Args:
        overrides: The command line after ``train``.

    Returns:
        0 on success; an error exits the process with status 1 and one line on stderr; SIGTERM
        (status 143) and Ctrl+C (SIGINT, status 130) exit after saving ``last.ckpt`` and
        ``metrics.json``.
    """
    with spoken_as("cli"):
        for override in overrides:
            if "_target_" in override:
                _fail(target_refusal(f"override {override!r}"))
        args = parse_arguments(overrides)
        try:
            if args.config_dir is not None:  # before Hydra reads a file of it
                check_config_dir(args.config_dir)
            with warnings.catch_warnings():
                warnings.simplefilter("always", PluginWarning)
                registry = load_registry()
            register_configs(registry)
            if runs_in_hydra(args):
                args.overrides = _entries_merged(args.overrides)
                hand_to_hydra(args, lambda cfg: _sweep_job(cfg, registry))
                return 0
            plan = plan_resume(args)  # resume=<run folder>: its own overrides come first
            args.overrides = _entries_merged(args.overrides)  # (messages name them as given)
            with HydraSession(args.config_dir) as session:
                cfg, run = _prepare(session, args, registry, plan)
                output = str(Path(run.run_dir).resolve())
                try:
                    session.run(cfg, run.run_dir, lambda _: _finish(
                        output, run.config.logger.tensorboard,
                        lambda: fit_components(run.config, run.parts, output, run.hparams),
                    ))
                finally:  # on success, an error or a signal's exit: the .lock file closed
                    release_run_folder(run.run_dir)
        except DeepinnError as error:
            _fail(error)
    return 0
