"""A warm start: a new run's network takes the final weights of a finished run (``init_from``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from deepinn._errors import ConfigurationError, Setting
from deepinn.training.service._record import NETWORK_FILE, RUN_FILE, unwrapped_network
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


def initialise_from(network: torch.nn.Module, source: str) -> None:
    """Copy the final weights of the finished run ``source`` into ``network`` (in place, in the
    network's dtype), checked by names and shapes; logs the file at INFO.

    Raises:
        ConfigurationError: No finished run (or ``.pt`` file) at ``source``, a corrupt or
            unsafe file, or weights that do not fit ``network``.
    """
    path = _source_file(source)
    if path.name == NETWORK_FILE and (path.parent / RUN_FILE).is_file():
        state, _ = read_weights(path.parent, read_record(path.parent), "final")  # checksummed
    else:
        state = read_state_dict(path)
    target, _ = unwrapped_network(network)
    _check_shapes(source, state, target.state_dict())
    with torch.no_grad():
        target.load_state_dict(state)
    log.info("initialised from %s", path)
