"""Checkpoint safety: atomic, checksummed writes; resume checks that refuse a bad or foreign file.

Every checkpoint is written to ``<name>.tmp``, flushed to disk and renamed over ``<name>`` (a
crash or a full disk never leaves a truncated ``last.ckpt`` or ``best-*.ckpt``), with its
SHA-256 in ``<name>.sha256``. A resume loads the file weights-only first and refuses, in one
line, an empty, truncated, bit-flipped (checksum), non-checkpoint or unsafe (pickled code) file,
and a checkpoint made by a configuration whose problem, domain, network, sampler or dtype
differ from the run's.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from deepinn._errors import ConfigurationError, Setting, TrainingError
from deepinn.training.service._runfolder import resume_setting

if TYPE_CHECKING:
    from deepinn.problems import Problem
    from deepinn.training.settings._optim import Phase
    from deepinn.training.settings._settings import RunConfig

__all__ = [
    "COMPATIBLE_SECTIONS",
    "AtomicCheckpointIO",
    "check_compatible",
    "does_not_fit",
    "find_checkpoint",
    "load_checkpoint_safely",
    "not_plain",
]

COMPATIBLE_SECTIONS = (
    "problem", "domain", "net", "sampler", "dtype", "seed", "resample_every", "optimizer.name",
    "weighting.name",
)
"""Configuration keys (dotted paths) a resumed run must share with its checkpoint: the problem
and its points (the data module restores the checkpoint's seed and rounds), the network, and the
optimizer preset and loss balancing whose saved state the resumed run loads. The rest may change:
trainer.max_steps, monitor.*, the optimizer's numbers (lr, ...), eval_points, ..."""


def _at(config: Mapping[str, Any] | None, path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node

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


def _flatten(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, Mapping):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(_flatten(value, f"{prefix}.{key}"))
        return flat or {prefix: {}}
    return {prefix: node}


def does_not_fit(path: str | os.PathLike[str], error: Exception) -> ConfigurationError:
    """The error for weights (a checkpoint, a window's ``network.pt``) that do not load into the
    network: torch's message, shortened, and the fix."""
    detail = " ".join(str(error).split())[:300]
    return ConfigurationError(
        f"resume={path}: the checkpoint does not fit this network ({detail}). Resume with the "
        "network the checkpoint was made with, or start a new run without resume=."
    )


PYTHON_API = "python"
"""``hparams["api"]`` of a run started from Python (:func:`describe_python_run`); a Hydra
configuration has no such key. Only configurations of the same kind are compared."""


def optimizer_name(phase: Phase) -> str:
    """The optimizer class a phase builds (``Adam``), looked for in ``functools.partial``s."""
    factory: Any = phase.optimizer
    candidates = [factory]
    while hasattr(factory, "func"):
        candidates += [factory.func, *getattr(factory, "args", ())]
        factory = factory.func
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, torch.optim.Optimizer):
            return candidate.__name__
    return getattr(factory, "__qualname__", type(factory).__name__)


def describe_python_run(
    problem: Problem, network: torch.nn.Module, run: RunConfig, phases: Sequence[Phase]
) -> dict[str, Any]:
    """What a run started from Python keeps on resume, in :data:`COMPATIBLE_SECTIONS`' keys.

    A Python run has no Hydra configuration to store in its checkpoints; this stands in for it,
    so resuming it into another problem, domain, network, sampler, dtype, seed or optimizer is
    refused as it is for a run from the command line. Functions (residuals, sources) are not
    compared: only names, types and sizes, which are the same in every process.
    """
    samplers = {}
    for constraint in problem.constraints:
        sampler: Any = getattr(constraint, "sampler", None)
        if hasattr(sampler, "n_points"):
            samplers[constraint.name] = f"{type(sampler).__name__}({sampler.n_points} points)"
    parameters = sum(p.numel() for p in network.parameters())
    return {
        "api": PYTHON_API,
        "problem": {
            "name": problem.name,
            "outputs": list(problem.outputs),
            "constraints": {c.name: type(c).__name__ for c in problem.constraints},
        },
        "domain": repr(problem.domain),
        "net": f"{type(network).__name__} with {parameters} parameters",
        "sampler": samplers,
        "dtype": run.dtype,
        "seed": run.seed,
        "resample_every": run.resample_every,
        "optimizer": {"name": " then ".join(optimizer_name(phase) for phase in phases)},
        "weighting": {"name": run.weighting.name},
    }


def check_steps_left(path: Path, checkpoint: Mapping[str, Any], max_steps: int) -> None:
    """Refuse a resume that would train nothing: the checkpoint is at ``max_steps`` or beyond."""
    step = int(checkpoint.get("global_step", 0))
    if step >= max_steps:
        raise ConfigurationError(
            f"resume={path}: the checkpoint is at step {step}, and max_steps = {max_steps}, so "
            f"nothing is left to train. Raise max_steps above {step} to train on: {{fix}}",
            fix=[Setting("trainer.max_steps", f"<more than {step}>")],
        )


def check_compatible(path: Path, stored: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Refuse a resume whose configuration differs from the checkpoint's in a section of
    :data:`COMPATIBLE_SECTIONS` (a checkpoint or run without a stored configuration, or a
    Python run resuming a command-line one or the reverse, is not compared).

    Raises:
        ConfigurationError: Naming each differing key with both values.
    """
    if not stored or not current or stored.get("api") != current.get("api"):
        return
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for section in COMPATIBLE_SECTIONS:
        old.update(_flatten(_at(stored, section), section))
        new.update(_flatten(_at(current, section), section))
    missing = object()
    differing = [
        f"{key}: {old.get(key, '(unset)')!r} in the checkpoint, {new.get(key, '(unset)')!r} now"
        for key in sorted(set(old) | set(new))
        if old.get(key, missing) != new.get(key, missing)
    ]
    if differing:
        more = f"; and {len(differing) - 6} more" if len(differing) > 6 else ""
        shown = "; ".join(differing[:6]) + more
        raise ConfigurationError(
            f"resume={path}: the checkpoint was made by another configuration ({shown}). A resumed "
            f"run keeps {', '.join(COMPATIBLE_SECTIONS)}; trainer.max_steps, monitor.*, the "
            "optimizer's numbers (optimizer.lr, ...) and the like may change. "
            + (
                "Resume with the problem, network and settings the checkpoint was made with, or "
                "start a new run without resume=."
                if current.get("api") == PYTHON_API
                else "Resume with the checkpoint's settings (its run folder's "
                ".hydra/config.yaml) or start a new run without resume=."
            )
        )
