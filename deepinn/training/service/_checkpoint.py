"""Checkpoint safety: atomic, checksummed writes of plain data; loads that refuse a bad file.

Every checkpoint is written to ``<name>.tmp``, flushed to disk and renamed over ``<name>`` (a
crash or a full disk never leaves a truncated ``last.ckpt`` or ``best-*.ckpt``), with its
SHA-256 in ``<name>.sha256``; it holds plain data only (what a weights-only load accepts). A
resume loads the file weights-only first and refuses, in one line, an empty, truncated,
bit-flipped (checksum), non-checkpoint or unsafe (pickled code) file. Whether a sound checkpoint
belongs to the run is :mod:`~deepinn.training.service._compatible`'s question.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from deepinn._errors import ConfigurationError, Setting, TrainingError
from deepinn.training.service._runfolder import resume_setting

__all__ = [
    "AtomicCheckpointIO",
    "does_not_fit",
    "find_checkpoint",
    "load_checkpoint_safely",
    "not_plain",
]

_SUFFIX = ".sha256"


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _write_error(path: Path, error: OSError) -> TrainingError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = f"{shutil.disk_usage(path.parent).free / 2**20:.1f} MiB free"
        except OSError:
            free = "no space left"
        return TrainingError(
            f"Could not write checkpoint {str(path)!r}: the disk is full ({free}); no partial "
            "file was left. Free space (or start the run again on a disk with room) and continue "
            "with: {fix}",
            fix=[resume_setting(path.parent.parent)],
        )
    return TrainingError(
        f"Could not write checkpoint {str(path)!r}: {error.strerror or error}. Check that the "
        "run folder is writable and has room, then resume from its last checkpoint."
    )


_NEARLY_FULL = 16 * 2**20
"""Free bytes below which a write that failed without saying why is taken for a full disk."""


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0


def _os_error(error: BaseException) -> OSError | None:
    """The operating system's error behind a failed write: ``error`` itself, or the one under
    torch's zip writer's ``RuntimeError`` ("file write failed"); None for anything else."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, RuntimeError) and "write failed" in str(error):
        return OSError(errno.EIO, "the file write failed")
    return None


_PLAIN_LEAVES = (str, bytes, int, float, complex, bool, type(None), torch.Size, torch.dtype,
                 torch.device)
_PLAIN_CONTAINERS = (dict, OrderedDict, list, tuple, set, frozenset)


def not_plain(value: Any, where: str = "checkpoint") -> str | None:
    """Where ``value`` holds something a weights-only load refuses (an object of a class that
    is not a number, string, container or tensor), with its type; None when it is plain data."""
    kind = type(value)
    if kind in _PLAIN_LEAVES or isinstance(value, torch.Tensor):
        return None
    if kind not in _PLAIN_CONTAINERS:
        return f"{where} ({kind.__module__}.{kind.__qualname__})"
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(value, dict) and not_plain(key) is not None:
            return f"{where} (a key of type {type(key).__qualname__})"
        found = not_plain(item, f"{where}[{key!r}]")
        if found is not None:
            return found
    return None


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temporary file, fsync, rename; a checksum next to it. Only plain data
    is written (numbers, strings, containers, tensors): what a weights-only load accepts."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        target = Path(path)
        found = not_plain(checkpoint)
        if found is not None:
            raise TrainingError(
                f"Could not write checkpoint {str(target)!r}: it would hold a Python object at "
                f"{found}, which a weights-only load refuses, so the run could not be resumed. "
                "Keep only numbers, strings, lists, dicts and tensors in a checkpoint (a custom "
                "scheduler or callback's state_dict)."
            )
        temporary = target.with_name(target.name + ".tmp")
        checksum = target.with_name(target.name + _SUFFIX)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            checksum_tmp = checksum.with_name(checksum.name + ".tmp")
            checksum_tmp.write_text(_digest(temporary) + "\n")
            os.replace(temporary, target)
            os.replace(checksum_tmp, checksum)
        except (OSError, RuntimeError) as error:
            cause = _os_error(error)
            if cause is None:
                raise
            if cause.errno == errno.EIO and _free_bytes(target.parent) < _NEARLY_FULL:
                cause = OSError(errno.ENOSPC, "No space left on device")
            for leftover in (temporary, checksum.with_name(checksum.name + ".tmp")):
                leftover.unlink(missing_ok=True)
            raise _write_error(target, cause) from None

    def remove_checkpoint(self, path: _PATH) -> None:
        super().remove_checkpoint(path)
        Path(str(path) + _SUFFIX).unlink(missing_ok=True)


_ANY_FOLDER = Setting("resume", "<run folder>", python="resume='<run folder>'")


def find_checkpoint(resume: str | os.PathLike[str], resume_from: str = "last") -> Path:
    """The checkpoint ``resume`` names: a ``.ckpt`` file, or a run folder's last/best checkpoint.

    Raises:
        ConfigurationError: Nothing to resume from there, or ``resume_from=best`` with a file.
    """
    path = Path(resume)
    if path.is_file():
        if resume_from != "last":
            raise ConfigurationError(
                f"resume_from={resume_from} picks a checkpoint in a run folder, but resume={path} "
                "is a file. Give the run folder ({fix}) or drop resume_from.",
                fix=[_ANY_FOLDER, Setting("resume_from", resume_from)],
            )
        return path
    folders = [path / "checkpoints", path]
    if resume_from == "best":
        found = sorted(
            (c for folder in folders for c in folder.glob("best-*.ckpt") if c.is_file()),
            key=lambda c: c.stat().st_mtime,
        )
        if found:
            return found[-1]
        looked = [str(folder / "best-*.ckpt") for folder in folders]
    else:
        for candidate in (folder / "last.ckpt" for folder in folders):
            if candidate.is_file():
                return candidate
        looked = [str(folder / "last.ckpt") for folder in folders]
    raise ConfigurationError(
        f"resume={resume!s}: no checkpoint found (looked for {', '.join(looked)}). Pass a run "
        "folder that has checkpoints, or a .ckpt file: {fix}",
        fix=[_ANY_FOLDER, Setting("resume_from", "<last or best>")],
    )


def load_checkpoint_safely(path: Path) -> dict[str, Any]:
    """Load ``path`` weights-only, refusing in one line anything that is not a sound checkpoint.

    Raises:
        ConfigurationError: An empty, truncated, corrupt, unsafe or non-checkpoint file.
    """
    fix = "Resume from another checkpoint of the run: {fix}"
    other = [_ANY_FOLDER, Setting("resume_from", "<best or last>")]
    size = path.stat().st_size
    if size == 0:
        raise ConfigurationError(
            f"resume: {str(path)!r} is empty (0 bytes), not a checkpoint. {fix}", fix=other
        )
    with open(path, "rb") as handle:
        head = handle.read(2)
    if head != b"PK" and head[:1] != b"\x80":  # torch.save's zip archive, or a legacy pickle
        raise ConfigurationError(
            f"resume: {str(path)!r} is not a checkpoint (a checkpoint is the archive a run "
            f"writes, checkpoints/last.ckpt of its run folder); give the run folder. {fix}",
            fix=other,
        )
    checksum = Path(str(path) + _SUFFIX)
    if checksum.is_file() and checksum.read_text().strip() != _digest(path):
        raise ConfigurationError(
            f"resume: {str(path)!r} does not match its checksum ({checksum.name}): the file is "
            f"corrupt (changed or truncated since it was written). {fix}",
            fix=other,
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        text = str(error)
        if "weights_only" in text or "Unsupported global" in text or "WeightsUnpickler" in text:
            reason = (
                "it holds pickled Python objects, not only weights (a file from elsewhere, or a "
                "malicious one); deepinn loads weights-only checkpoints and never runs a pickle"
            )
        else:
            first = text.splitlines()[0][:120] if text else "?"
            reason = f"it is truncated or corrupt ({type(error).__name__}: {first})"
        raise ConfigurationError(
            f"resume: cannot load {str(path)!r}: {reason}. {fix}", fix=other
        ) from None
    if (
        not isinstance(checkpoint, dict)
        or "state_dict" not in checkpoint
        or "global_step" not in checkpoint
    ):
        raise ConfigurationError(
            f"resume: {str(path)!r} is not a deepinn/Lightning training checkpoint (no state_dict "
            f"and global_step). {fix}",
            fix=other,
        )
    return checkpoint


def does_not_fit(path: str | os.PathLike[str], error: Exception) -> ConfigurationError:
    """The error for weights (a checkpoint, a window's ``network.pt``) that do not load into the
    network: torch's message, shortened, and the fix."""
    detail = " ".join(str(error).split())[:300]
    return ConfigurationError(
        f"resume={path}: the checkpoint does not fit this network ({detail}). Resume with the "
        "network the checkpoint was made with, or start a new run without resume=."
    )
