"""``deepinn train resume=<run folder>``: the run folder's own configuration, continued.

A run folder holds the overrides that made it (``.hydra/overrides.yaml``) and the ``--config-dir``
it was composed with (``.hydra/hydra.yaml``). A resume composes the stored overrides first and
the ones given now after them (a key given now replaces the stored one), so
``deepinn train resume=<run folder> trainer.max_steps=4000`` continues the run as it was
configured; an override given now that makes the checkpoint incompatible is named by the
resume check. Without ``hydra.run.dir``, the resumed run writes into its own folder: its
TensorBoard curves, checkpoints and ``metrics.json`` continue there.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.errors import HydraException

from deepinn._errors import ConfigurationError
from deepinn.app._yamlfiles import check_config_dir, check_yaml_file

__all__ = ["ResumePlan", "plan_resume"]

_NOT_STORED = ("resume", "resume_from", "init_from")
"""Keys of a stored override list that name the previous resume or the weights the run started
from (its checkpoint holds them now), not the run's configuration."""


@dataclass
class ResumePlan:
    """How a command line resumes a run folder.

    Attributes:
        folder: The resumed run folder when it holds its configuration (None: a checkpoint
            file from elsewhere, or no resume).
        given: The overrides given on this command line, by key (``{"net.hidden":
            "net.hidden=[16]"}``): the resume check names the one that conflicts.
        stored: The run folder's stored overrides that were composed before the given ones.
    """

    folder: Path | None = None
    given: dict[str, str] = field(default_factory=dict)
    stored: list[str] = field(default_factory=list)


def _parse(overrides: list[str]) -> list[Override]:
    return OverridesParser.create().parse_overrides(overrides)


def _resume_value(overrides: list[Override]) -> str | None:
    for override in reversed(overrides):
        if override.key_or_group == "resume" and not override.is_delete():
            value = override.value()
            return None if value is None else str(value)
    return None


def _run_folder(resume: str) -> Path | None:
    """The run folder ``resume`` names (a folder, or a ``.ckpt`` in its ``checkpoints/``) when
    it holds its configuration."""
    path = Path(resume)
    candidates = [path] if path.is_dir() else [path.parent.parent, path.parent]
    for folder in candidates:
        if (folder / ".hydra" / "overrides.yaml").is_file():
            return folder
    return None


def _load(path: Path) -> Any:
    check_yaml_file(path)  # a hand-edited file: no alias bomb, no duplicate key
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"resume: cannot read {str(path)!r} ({error}); the run folder's configuration is "
            "damaged. Give every override of the run on the command line with resume=, or start "
            "a new run."
        ) from None


def _stored_overrides(folder: Path) -> list[str]:
    path = folder / ".hydra" / "overrides.yaml"
    stored = _load(path)
    if stored is None:
        return []
    if not isinstance(stored, list) or not all(isinstance(item, str) for item in stored):
        raise ConfigurationError(
            f"resume: {str(path)!r} is not a list of overrides (it holds "
            f"{type(stored).__name__}); the run folder's configuration is damaged. Give every "
            "override of the run on the command line with resume=, or start a new run."
        )
    return stored


def _stored_config_dir(folder: Path) -> str | None:
    """The ``--config-dir`` the run was composed with, from ``.hydra/hydra.yaml``."""
    path = folder / ".hydra" / "hydra.yaml"
    if not path.is_file():
        return None
    hydra = (_load(path) or {}).get("hydra") or {}
    sources = (hydra.get("runtime") or {}).get("config_sources") or []
    for source in sources:
        if isinstance(source, dict) and source.get("provider") == "command-line":
            location = str(source.get("path", ""))
            if location.startswith("file://"):
                return location.removeprefix("file://")
    return None


def _replaced(stored: Override, given: list[Override]) -> bool:
    """Whether an override given now replaces ``stored`` (same key; a plain change of a key the
    run added with ``+`` keeps the addition and changes it)."""
    for override in given:
        if override.key_or_group != stored.key_or_group:
            continue
        adds_then_changes = stored.is_add() and override.type == OverrideType.CHANGE
        if not adds_then_changes:
            return True
    return False


def plan_resume(args: argparse.Namespace) -> ResumePlan:
    """Put a resumed run folder's stored overrides (and ``--config-dir``) before the given ones
    in ``args``, and say what was given.

    Raises:
        ConfigurationError: The run folder's stored configuration is damaged.
    """
    overrides = list(args.overrides)
    try:
        given = _parse(overrides)
    except HydraException:
        return ResumePlan()  # the composition names the bad override
    resume = _resume_value(given)
    if resume is None:
        return ResumePlan()
    named = {
        o.key_or_group: o.input_line or o.key_or_group for o in given
        if o.key_or_group not in _NOT_STORED
    }
    folder = _run_folder(resume)
    if folder is None:
        return ResumePlan(None, named)
    stored_lines = _stored_overrides(folder)
    try:
        stored = _parse(stored_lines)
    except HydraException as error:
        raise ConfigurationError(
            f"resume: the overrides stored in {str(folder / '.hydra' / 'overrides.yaml')!r} do "
            f"not parse ({error}); give every override of the run on the command line with "
            "resume=, or start a new run."
        ) from None
    kept = [
        line for line, override in zip(stored_lines, stored, strict=True)
        if override.key_or_group not in _NOT_STORED and not _replaced(override, given)
    ]
    args.overrides = [*kept, *overrides]
    if getattr(args, "config_dir", None) is None:
        args.config_dir = _stored_config_dir(folder)
        if args.config_dir is not None and not Path(args.config_dir).is_dir():
            raise ConfigurationError(
                f"resume={resume}: the run was composed with --config-dir {args.config_dir}, "
                "which is no longer a folder. Give the folder that holds its YAML files now: "
                f"deepinn train --config-dir <folder> resume={resume} ..."
            )
        if args.config_dir is not None:
            check_config_dir(args.config_dir)  # as a --config-dir given now is
    return ResumePlan(folder, named, kept)
