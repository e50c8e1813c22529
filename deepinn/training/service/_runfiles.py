"""Reading a run folder's files, each refused in one line when it is missing or unsound.

``run.json`` (the record), ``network.pt`` (the final weights), ``metrics.json`` and the
checkpoints' weights; every tensor file is loaded weights-only (no pickled code runs).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.training.service._record import NETWORK_FILE, RUN_FILE, RUN_FORMAT, file_digest

__all__ = [
    "CHECKPOINTS", "read_json", "read_record", "read_state_dict", "read_weights", "run_folder",
]

CHECKPOINTS = ("final", "last", "best")
"""What ``load(..., checkpoint=)`` takes: the run's ``network.pt``, or its last or best
training checkpoint."""

RETRAIN = "train the run again (or load one of its checkpoints: checkpoint='last' or 'best')"


def run_folder(path: str | os.PathLike[str], checkpoint: str = "final") -> Path:
    """``path`` as a run folder, refused when it is not one.

    A folder without ``run.json`` (a run that did not finish, or one an older deepinn wrote) is
    taken for ``checkpoint='last'`` or ``'best'`` when it holds the configuration and the
    checkpoints of a command-line run.

    Raises:
        ConfigurationError: No such folder, or a folder without ``run.json`` (and, for a
            checkpoint, without a command-line run's configuration and checkpoints).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigurationError(
            f"load({str(path)!r}): no such folder. Give the folder of a finished run (the one "
            "that holds run.json and network.pt, e.g. outputs/<date>/<time>)."
        )
    if (folder / RUN_FILE).is_file():
        return folder
    configured = (folder / ".hydra" / "config.yaml").is_file()
    if checkpoint != "final" and configured and (folder / "checkpoints").is_dir():
        return folder
    marks = [name for name in ("metrics.json", "checkpoints", ".hydra") if (folder / name).exists()]
    if marks:
        fix = (
            "load one of its checkpoints (checkpoint='last' or 'best'), or resume the run to "
            "finish it" if configured and "checkpoints" in marks
            else "train it again (or resume it) to finish it"
        )
        raise ConfigurationError(
            f"load({str(path)!r}): the folder holds {', '.join(marks)} but no {RUN_FILE}: the run "
            f"did not finish (stopped or failed before its end), or an older deepinn wrote it. "
            f"A finished run writes {RUN_FILE} and {NETWORK_FILE}; {fix}."
        )
    raise ConfigurationError(
        f"load({str(path)!r}): not a deepinn run folder (no {RUN_FILE}, metrics.json or "
        "checkpoints/). Give the folder a run wrote: a command-line run's "
        "outputs/<problem>-<domain>/<date_time>, or the run_dir given to fit."
    )


def read_json(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``.

    Raises:
        ConfigurationError: The file is truncated or is not a JSON object.
    """
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        detail = " ".join(str(error).split())[:120]
        raise ConfigurationError(
            f"load: {str(path)!r} ({what}) cannot be read: it is truncated or corrupt ({detail}). "
            f"Restore it from a copy of the run, or {RETRAIN}."
        ) from None
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"load: {str(path)!r} ({what}) is not a JSON object. Restore it from a copy of the "
            f"run, or {RETRAIN}."
        )
    return value


def read_record(folder: Path) -> dict[str, Any]:
    """``run.json``, checked for a format this deepinn reads; for a command-line run without
    one (see :func:`run_folder`), a record that says only that (its problem and network come
    from the configuration).

    Raises:
        ConfigurationError: Truncated, or written in a newer format.
    """
    if not (folder / RUN_FILE).is_file():
        return {"format": RUN_FORMAT, "api": "cli", "network": {}}
    record = read_json(folder / RUN_FILE, "the run's record")
    version = record.get("format")
    if not isinstance(version, int) or version < 1:
        raise ConfigurationError(
            f"load: {str(folder / RUN_FILE)!r} has no valid format version ({version!r}); it is "
            f"not a run record deepinn wrote. Restore it, or {RETRAIN}."
        )
    if version > RUN_FORMAT:
        raise ConfigurationError(
            f"load: {str(folder)!r} was written by deepinn {record.get('deepinn', '?')} in run "
            f"format {version}; this deepinn reads formats up to {RUN_FORMAT}. Upgrade deepinn "
            "(pip install -U deepinn) to load it."
        )
    return record


def _unsafe(text: str) -> bool:
    return "weights_only" in text or "Unsupported global" in text or "WeightsUnpickler" in text


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        text = str(error)
        if _unsafe(text):
            reason = (
                "it holds pickled Python objects, not only weights (a file from elsewhere, or a "
                "malicious one); deepinn loads weights only and never runs a pickle"
            )
        else:
            first = text.splitlines()[0][:120] if text else "?"
            reason = f"it is truncated or corrupt ({type(error).__name__}: {first})"
        raise ConfigurationError(
            f"load: cannot read {str(path)!r}: {reason}. Restore it from a copy of the run, or "
            f"{RETRAIN}."
        ) from None


def _checked_size(path: Path) -> None:
    if not path.is_file():
        raise ConfigurationError(
            f"load: {str(path)!r} is missing. Restore it from a copy of the run, or {RETRAIN}."
        )
    if path.stat().st_size == 0:
        raise ConfigurationError(
            f"load: {str(path)!r} is empty (0 bytes). Restore it from a copy of the run, or "
            f"{RETRAIN}."
        )


def _final_weights(folder: Path, record: dict[str, Any]) -> dict[str, torch.Tensor]:
    path = folder / NETWORK_FILE
    _checked_size(path)
    expected = record.get("sha256")
    if isinstance(expected, str) and file_digest(path) != expected:
        raise ConfigurationError(
            f"load: {str(path)!r} does not match the checksum in {RUN_FILE}: the file is corrupt "
            f"(changed or truncated since the run wrote it). Restore it, or {RETRAIN}."
        )
    return read_state_dict(path)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The network ``state_dict`` saved at ``path`` (a ``network.pt``), loaded weights-only.

    Raises:
        ConfigurationError: A missing, empty, corrupt or unsafe file, or one that is not a
            mapping of names to tensors.
    """
    _checked_size(path)
    state = _torch_load(path)
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ConfigurationError(
            f"load: {str(path)!r} is not a network's state_dict (a mapping of names to "
            f"tensors). Restore it, or {RETRAIN}."
        )
    return state


def _checkpoint_file(folder: Path, which: str) -> Path:
    checkpoints = folder / "checkpoints"
    if which == "last":
        found = [checkpoints / "last.ckpt"] if (checkpoints / "last.ckpt").is_file() else []
    else:
        found = sorted(checkpoints.glob("best-*.ckpt"), key=lambda c: c.stat().st_mtime)
    if not found:
        pattern = "last.ckpt" if which == "last" else "best-*.ckpt"
        raise ConfigurationError(
            f"load: checkpoint={which!r}, but {str(checkpoints)!r} holds no {pattern} (a time-"
            "marching run keeps its checkpoints per window, a run without a run folder none). "
            "Load the final network: checkpoint='final'."
        )
    path = found[-1]
    _checked_size(path)
    checksum = Path(str(path) + ".sha256")
    if checksum.is_file():
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if checksum.read_text().strip() != sha:
            raise ConfigurationError(
                f"load: {str(path)!r} does not match its checksum ({checksum.name}): the file is "
                "corrupt. Load another checkpoint (checkpoint='final', 'last' or 'best')."
            )
    return path


def read_weights(
    folder: Path, record: dict[str, Any], which: str
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The network's weights and the learned coefficients of ``which`` checkpoint.

    ``final``: ``network.pt`` and the coefficients of ``run.json``; ``last`` / ``best``: the
    training checkpoint's ``net.*`` (under an output transform, ``net.network.*``) and
    ``coefficients.*`` entries.

    Raises:
        ConfigurationError: An unknown ``which``, or a missing, truncated, corrupt or unsafe
            file.
    """
    if which not in CHECKPOINTS:
        raise ConfigurationError(
            f"load: checkpoint={which!r}; choose one of {', '.join(CHECKPOINTS)} (final: the "
            "network the run ended with)."
        )
    if which == "final":
        coefficients = {
            name: torch.tensor(value, dtype=torch.float64)
            for name, value in (record.get("coefficients") or {}).items()
            if value is not None
        }
        return _final_weights(folder, record), coefficients
    path = _checkpoint_file(folder, which)
    checkpoint = _torch_load(path)
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ConfigurationError(
            f"load: {str(path)!r} is not a training checkpoint (no state_dict). Load the final "
            "network: checkpoint='final'."
        )
    prefix = "net.network." if (record.get("network") or {}).get("output_transform") else "net."
    weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    coefficients = {
        k[len("coefficients."):]: v for k, v in state.items() if k.startswith("coefficients.")
    }
    return weights, coefficients
