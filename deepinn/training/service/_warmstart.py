"""A warm start: a new run's network takes the final weights of a finished run (``init_from``),
and its problem the run's learned coefficients (those of the same name).

A time-marching run is no source: its ``network.pt`` holds one network per time window, each
trained on its window stretched over the whole time range, so none of them is a network for the
whole range."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from deepinn._errors import ConfigurationError, Setting
from deepinn.training.service._record import (
    NETWORK_FILE,
    RUN_FILE,
    is_marching_window,
    unwrapped_network,
)
from deepinn.training.service._runfiles import read_record, read_state_dict, read_weights

__all__ = ["initialise_from"]

log = logging.getLogger(__name__)


def _source_file(source: str) -> Path:
    """The ``network.pt`` that ``source`` (a finished run's folder, or a ``.pt`` file) names."""
    path = Path(source)
    if path.is_file() and path.suffix == ".pt":
        return path
    if path.is_dir() and (path / NETWORK_FILE).is_file():
        return path / NETWORK_FILE
    what = (
        f"the folder holds no {NETWORK_FILE} (not a finished run: a run writes it, with "
        f"{RUN_FILE}, when it ends)" if path.is_dir()
        else "no such folder or .pt file"
    )
    raise ConfigurationError(
        f"init_from={source!r}: {what}. Give the folder of a finished run (or its {NETWORK_FILE}),"
        " or start from fresh weights: {fix}",
        fix=[Setting("init_from", None)],
    )


def _check_shapes(source: str, saved: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]
                  ) -> None:
    """Refuse ``saved`` weights whose names or shapes differ from the network's (``own``)."""
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    resized = [
        f"{k}: {list(saved[k].shape)} in {source!r}, {list(v.shape)} in this network"
        for k, v in own.items() if k in saved and saved[k].shape != v.shape
    ]
    details = (
        ([f"missing {', '.join(missing[:3])}"] if missing else [])
        + ([f"not in this network {', '.join(unexpected[:3])}"] if unexpected else [])
        + resized
    )
    if details:
        raise ConfigurationError(
            f"init_from={source!r}: the saved network does not fit this one "
            f"({'; '.join(details)}). Build the network the run was trained with (same layers "
            "and widths), or start from fresh weights: {fix}",
            fix=[Setting("init_from", None)],
        )


def _refuse_marching(source: str, path: Path, record: Mapping[str, Any],
                     state: Mapping[str, torch.Tensor]) -> None:
    """Refuse a time-marching run (or one of its windows) as the source of a warm start."""
    layout = record.get("marching") or {}
    window = is_marching_window(path.parent)
    if not (layout or window or any(key.startswith("windows.") for key in state)):
        return
    what = (
        "a time window of a time-marching run" if window
        else f"a time-marching run ({layout.get('windows', 'several')} windows, edges "
        f"{layout.get('edges', '?')})"
    )
    raise ConfigurationError(
        f"init_from={source!r} is {what}: its network.pt holds one network per time window, each "
        "trained on its own window stretched over the whole time range, so no network of it "
        "starts a run over the whole range. Resume the time-marching run itself (resume=<its "
        "folder>) to train it further, or start from fresh weights: {fix}",
        fix=[Setting("init_from", None)],
    )


def _set_coefficients(source: str, saved: Mapping[str, torch.Tensor],
                      own: Mapping[str, torch.nn.Parameter]) -> list[str]:
    """The saved coefficients into the problem's parameters of the same name (in place; in the
    saved dtype where it is wider: the run casts its parameters to its dtype after); returns the
    names set."""
    shared = [name for name in saved if name in own]
    resized = [
        f"{name}: {list(saved[name].shape)} in {source!r}, {list(own[name].shape)} in this problem"
        for name in shared if saved[name].numel() != own[name].numel()
    ]
    if resized:
        raise ConfigurationError(
            f"init_from={source!r}: the learned coefficients do not fit this problem's "
            f"({'; '.join(resized)}). Give the coefficients the run learned their shapes, or "
            "start from fresh weights: {fix}",
            fix=[Setting("init_from", None)],
        )
    with torch.no_grad():
        for name in shared:
            parameter, value = own[name], saved[name]
            dtype = torch.promote_types(parameter.dtype, value.dtype)
            parameter.data = value.to(parameter.device, dtype).reshape(parameter.shape).clone()
    return shared


def initialise_from(
    network: torch.nn.Module,
    source: str,
    coefficients: Mapping[str, torch.nn.Parameter] | None = None,
) -> None:
    """Copy the final weights of the finished run ``source`` into ``network`` (in place, in the
    network's dtype), checked by names and shapes, and its learned coefficients into
    ``coefficients`` (the new problem's parameters) where the names match; logs the file at
    INFO.

    Raises:
        ConfigurationError: No finished run (or ``.pt`` file) at ``source``, a corrupt or
            unsafe file, a time-marching run, or weights or coefficients that do not fit.
    """
    path = _source_file(source)
    record: dict[str, Any] = {}
    saved: dict[str, torch.Tensor] = {}
    if path.name == NETWORK_FILE and (path.parent / RUN_FILE).is_file():
        record = read_record(path.parent)
        state, saved = read_weights(path.parent, record, "final")  # checksummed
    else:
        state = read_state_dict(path)
    _refuse_marching(source, path, record, state)
    target, _ = unwrapped_network(network)
    _check_shapes(source, state, target.state_dict())
    with torch.no_grad():
        target.load_state_dict(state)
    carried = _set_coefficients(source, saved, coefficients or {})
    if carried:
        values = ", ".join(f"{n}={saved[n].reshape(-1).tolist()}" for n in carried)
        log.info("initialised from %s (learned coefficients %s)", path, values)
    else:
        log.info("initialised from %s", path)
