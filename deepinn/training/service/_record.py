"""A finished run's network and its record: ``network.pt`` and ``run.json`` in the run folder.

What :func:`deepinn.load` reads to use a run: ``network.pt``, the trained network's plain
``state_dict`` (in the dtype it was trained in, without the output transform that wraps it: the
problem supplies that), and ``run.json``, the record that rebuilds it (:data:`RUN_FORMAT`, the
deepinn version, the dtype, the problem's name, outputs and coordinates, the network's registered
name and parameters for a configured run or the description of a Python run, the learned
coefficients, the time-marching layout, the SHA-256 of ``network.pt``). Both are written to a
temporary file and renamed, so a crash never leaves a truncated one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import torch

from deepinn.nn import OutputTransform

__all__ = [
    "NETWORK_FILE",
    "RUN_FILE",
    "RUN_FORMAT",
    "file_digest",
    "is_marching_window",
    "run_record",
    "unwrapped_network",
    "write_network",
]

RUN_FORMAT = 1
"""The version of ``run.json`` and ``network.pt`` written here; a reader refuses a newer one."""
NETWORK_FILE = "network.pt"
RUN_FILE = "run.json"


def _replace_atomically(path: Path, write: Any) -> None:
    """``write(handle)`` into ``<path>.tmp``, flushed to disk, then renamed over ``path``."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def file_digest(path: Path) -> str:
    """The SHA-256 of the file at ``path`` (hex)."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def unwrapped_network(network: torch.nn.Module) -> tuple[torch.nn.Module, bool]:
    """The trained network without the output transform the loss wrapped it in, and whether
    it was wrapped."""
    if isinstance(network, OutputTransform):
        return network.network, True
    return network, False


def is_marching_window(run_dir: Path) -> bool:
    """Whether ``run_dir`` is a time window's folder (``<run>/windows/<k>/`` of a run with a
    ``marching.json``): time marching itself writes its ``network.pt`` once the window has
    finished, and takes one there for a finished window when it resumes."""
    return run_dir.parent.name == "windows" and (run_dir.parent.parent / "marching.json").is_file()


def write_network(run_dir: Path, pl_module: Any, eval_points: int = 10_000) -> None:
    """``network.pt`` (the trained network's plain ``state_dict``) and ``run.json``; in a time
    window's folder only ``run.json`` (see :func:`is_marching_window`)."""
    network, transformed = unwrapped_network(pl_module.net)
    record = run_record(run_dir, pl_module, network, transformed, eval_points)
    if not is_marching_window(run_dir):
        state = {key: value.detach().cpu() for key, value in network.state_dict().items()}
        _replace_atomically(run_dir / NETWORK_FILE, lambda handle: torch.save(state, handle))
        record["sha256"] = file_digest(run_dir / NETWORK_FILE)
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    _replace_atomically(run_dir / RUN_FILE, lambda handle: handle.write(text.encode()))


def _stored_record(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def run_record(
    run_dir: Path,
    pl_module: Any,
    network: torch.nn.Module,
    transformed: bool,
    eval_points: int,
) -> dict[str, Any]:
    """``run.json``: what rebuilds the run's network and problem (see the module's docstring).

    A configured run (``deepinn train``) names its network's registration and parameters (its
    run folder's ``.hydra/config.yaml`` holds the whole configuration); a run started from
    Python keeps the description its checkpoints compare (``describe_python_run``). The
    composite network of a time-marching run takes the description of its first window's
    network (``windows/00/run.json``) and the layout of ``marching.json``.
    """
    from deepinn import __version__

    problem = pl_module.problem
    hparams = dict(getattr(pl_module, "hparams", None) or {})
    marching = _stored_record(run_dir / "marching.json") or None
    if not hparams and marching is not None:  # the windows' composite, measured only
        first = _stored_record(run_dir / "windows" / "00" / RUN_FILE)
        source = {key: first.get(key) for key in ("api", "network", "description")}
    else:
        net = hparams.get("net")
        net = dict(net) if isinstance(net, dict) and "name" in net else None
        configured = net is not None
        source = {
            "api": "python" if hparams.get("api") == "python" else "cli" if configured else None,
            "network": {
                "name": net.pop("name") if net is not None else None,
                "params": net,
            },
            "description": hparams if hparams.get("api") == "python" else None,
        }
    state = network.state_dict()
    reference = next(iter(network.parameters()), None)
    return {
        "format": RUN_FORMAT,
        "deepinn": __version__,
        "dtype": str(reference.dtype).removeprefix("torch.") if reference is not None else None,
        "api": source.get("api"),
        "problem": {
            "name": problem.name,
            "outputs": list(problem.outputs),
            "coordinates": list(problem.space.coordinate_names()),
            "variables": dict(problem.space.variables),
            "has_solution": bool(problem.has_solution),
        },
        "network": {
            **(source.get("network") or {}),
            "class": type(network).__name__,
            "output_transform": transformed,
            "parameters": {key: list(value.shape) for key, value in state.items()},
        },
        "coefficients": {
            name: _finite_or_none(value.detach().cpu().to(torch.float64).tolist())
            for name, value in dict(getattr(pl_module, "coefficients", None) or {}).items()
        },
        "eval_points": int(eval_points),
        "field_mode": getattr(getattr(pl_module, "run", None), "field_mode", "auto"),
        "marching": marching,
        "description": source.get("description"),
    }


def _finite_or_none(value: Any) -> Any:
    """``value`` (a number or nested lists) with NaN and infinities as None (JSON has none)."""
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    return value if math.isfinite(value) else None
