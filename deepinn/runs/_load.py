"""``deepinn.load``: a run folder back as a :class:`TrainedRun`.

A run from the command line is rebuilt from its configuration (:mod:`deepinn.runs._rebuild`);
a run started from Python holds functions (residuals, sources, exact solutions) that no file
can hold, so the caller passes its problem and an untrained network of the same architecture,
and they are checked against the run's record: the problem's name, outputs and coordinates,
the network's parameter names and shapes. The weights are loaded weights-only into that
network, in the dtype they were trained in.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.nn import OutputTransform
from deepinn.problems import Problem
from deepinn.runs._rebuild import CONFIG_FILE, rebuild
from deepinn.runs._trained import TrainedRun
from deepinn.training.service._runfiles import read_json, read_record, read_weights, run_folder

if TYPE_CHECKING:
    from deepinn.plugins import Registry

__all__ = ["load"]


def load(
    run: str | os.PathLike[str],
    *,
    problem: Problem | None = None,
    network: torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    checkpoint: str = "final",
    registry: Registry | None = None,
) -> TrainedRun:
    """Open the finished run in folder ``run``.

    Args:
        run: The run folder (``deepinn train``'s ``outputs/<date>/<time>``, or the
            ``run_dir`` given to :func:`deepinn.fit`).
        problem: The run's problem. Needed for a run started from Python; for a run from the
            command line it replaces the one rebuilt from the configuration.
        network: An untrained network of the run's architecture (needed with ``problem`` for
            a run started from Python); it is copied, then given the trained weights.
        device: Where the network goes (``"cpu"``, ``"cuda"``, ...).
        checkpoint: ``final`` (the network the run ended with, ``network.pt``), or the
            training checkpoint ``last`` or ``best``.
        registry: The plugin registry that rebuilds a configured run (default: every installed
            plugin).

    Returns:
        The :class:`TrainedRun`.

    Raises:
        ConfigurationError: Not a run folder; a missing, truncated, corrupt or newer-format
            file; a component whose plugin is not installed; a Python run loaded without its
            problem and network, or with ones that do not match the run.
    """
    target = _device(device)
    folder = run_folder(run, checkpoint)
    record = read_record(folder)
    config: dict[str, Any] | None = record.get("description")
    if problem is None or network is None:
        if record.get("api") == "python" or not (folder / CONFIG_FILE).is_file():
            raise ConfigurationError(
                f"load({str(folder)!r}): the run was started from Python, and its problem "
                "holds functions (residuals, sources, the exact solution) that no file can "
                "hold. Pass the problem and an untrained network of the same architecture: "
                "load(run, problem=my_problem, network=my_untrained_network)."
            )
        rebuilt_problem, rebuilt_network, config = rebuild(folder, registry)
        problem = problem if problem is not None else rebuilt_problem
        network = network if network is not None else rebuilt_network
    _check_problem(folder, problem, record)
    stored = record.setdefault("network", {})
    if "output_transform" not in stored:  # no run.json: the configuration's problem says
        stored["output_transform"] = problem.output_transform is not None
        record.setdefault("eval_points", (config or {}).get("eval_points", 10_000))
    weights, coefficients = read_weights(folder, record, checkpoint)
    if isinstance(network, OutputTransform):
        network = network.network
    network = copy.deepcopy(network)
    if record.get("marching"):
        network = _marching_network(network, problem, record["marching"], weights)
    _load_weights(folder, network, weights)
    network = _with_transform(folder, network, problem, record)
    _set_coefficients(folder, problem, coefficients, _dtype(network))
    network = network.to(target).eval()
    metrics_file = folder / "metrics.json"
    metrics = read_json(metrics_file, "the run's metrics") if metrics_file.is_file() else {}
    return TrainedRun(
        run_dir=folder,
        network=network,
        problem=problem,
        config=config,
        metrics=metrics,
        coefficients={name: p.detach().clone() for name, p in problem.parameters.items()},
        record=record,
        checkpoint=checkpoint,
    )


def _device(device: str | torch.device) -> torch.device:
    """``device`` as a torch device this machine has.

    Raises:
        ConfigurationError: Not a device name, or a device this machine does not have.
    """
    try:
        target = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigurationError(
            f"load: device = {device!r} is not a device; give 'cpu', 'cuda' or 'cuda:<index>' "
            "(or a torch.device)."
        ) from None
    if target.type == "cpu":
        return target
    module: Any = getattr(torch, target.type, None)
    count = 0
    if callable(getattr(module, "is_available", None)) and module.is_available():
        counter = getattr(module, "device_count", None)
        count = int(counter()) if callable(counter) else 1
    if count == 0:
        raise ConfigurationError(
            f"load: device = {device!r}, but this machine has no {target.type} device "
            f"(torch {torch.__version__} sees none). Load on the CPU: device='cpu'."
        )
    if target.index is not None and target.index >= count:
        raise ConfigurationError(
            f"load: device = {device!r}, but this machine has {count} {target.type} device(s) "
            f"(indices 0 to {count - 1}). Give one of those, or device='cpu'."
        )
    return target


def _dtype(network: torch.nn.Module) -> torch.dtype:
    parameter = next(iter(network.parameters()), None)
    return parameter.dtype if parameter is not None else torch.get_default_dtype()


def _check_problem(folder: Path, problem: Problem, record: dict[str, Any]) -> None:
    """Refuse a problem other than the run's (name, outputs, coordinates)."""
    if not isinstance(problem, Problem):
        raise ConfigurationError(
            f"load: problem = {problem!r} is a {type(problem).__name__}, not a deepinn.Problem; "
            "pass the problem the run trained."
        )
    stored = record.get("problem") or {}
    given = {
        "name": problem.name,
        "outputs": list(problem.outputs),
        "coordinates": list(problem.space.coordinate_names()),
    }
    differing = [
        f"{key} {stored.get(key)!r} in the run, {value!r} given"
        for key, value in given.items()
        if key in stored and stored[key] != value
    ]
    if differing:
        raise ConfigurationError(
            f"load({str(folder)!r}): the problem is not the run's ({'; '.join(differing)}). Pass "
            "the problem the run trained."
        )


def _marching_network(
    network: torch.nn.Module, problem: Problem, layout: dict[str, Any],
    weights: dict[str, torch.Tensor],
) -> torch.nn.Module:
    """The composite network of a time-marching run: one window network per trained window."""
    from deepinn.training.marching._marching import time_column
    from deepinn.training.marching._networks import TimeMarchingNetwork, WindowNetwork

    column, t0, t1 = time_column(problem, str(layout.get("time", "t")))
    edges = [float(edge) for edge in layout.get("edges", [])]
    trained = len({key.split(".")[1] for key in weights if key.startswith("windows.")})
    if trained < 1 or len(edges) < trained + 1:
        raise ConfigurationError(
            f"load: the time-marching run's network.pt holds {trained} window(s) but its layout "
            f"has edges {edges}; restore the run folder, or train it again."
        )
    windows = [
        WindowNetwork(copy.deepcopy(network), column, (edges[k], edges[k + 1]), (t0, t1))
        for k in range(trained)
    ]
    return TimeMarchingNetwork(windows, column, edges[: trained + 1])


def _load_weights(folder: Path, network: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """``weights`` into ``network``, each tensor in the dtype it was saved in.

    Raises:
        ConfigurationError: The network's parameters differ in name or shape, naming both.
    """
    expected = network.state_dict()
    missing = [key for key in expected if key not in weights]
    unexpected = [key for key in weights if key not in expected]
    shapes = [
        f"{key}: {list(weights[key].shape)} in the run, {list(value.shape)} in this network"
        for key, value in expected.items()
        if key in weights and weights[key].shape != value.shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            parts.append("shapes differ: " + "; ".join(shapes[:4]))
        if missing:
            parts.append(f"the run has no {missing[:4]}")
        if unexpected:
            parts.append(f"this network has no {unexpected[:4]}")
        raise ConfigurationError(
            f"load({str(folder)!r}): the network does not fit the run's weights "
            f"({type(network).__name__}: {'; '.join(parts)}). Pass an untrained network built "
            "as the run's was (the same class, layer sizes and options)."
        )
    tensors: dict[str, torch.Tensor] = dict(network.named_parameters())
    tensors.update(network.named_buffers())
    for key, value in weights.items():
        target = tensors.get(key)
        if target is not None and target.is_floating_point() and value.is_floating_point():
            target.data = target.data.to(value.dtype)
    network.load_state_dict(weights, strict=True)


def _with_transform(
    folder: Path, network: torch.nn.Module, problem: Problem, record: dict[str, Any]
) -> torch.nn.Module:
    """``network`` wrapped in the problem's output transform when the run trained it so."""
    transformed = bool((record.get("network") or {}).get("output_transform"))
    if transformed and problem.output_transform is None:
        raise ConfigurationError(
            f"load({str(folder)!r}): the run held conditions exactly (an output_transform), but "
            f"the problem {problem.name!r} given has none, so its outputs would not be the "
            "solution. Pass the problem with the run's output_transform."
        )
    if not transformed and problem.output_transform is not None:
        raise ConfigurationError(
            f"load({str(folder)!r}): the problem {problem.name!r} has an output_transform, but "
            "the run trained without one. Pass the problem the run trained."
        )
    if problem.output_transform is None:
        return network
    return OutputTransform(network, problem.output_transform)


def _set_coefficients(
    folder: Path, problem: Problem, coefficients: dict[str, torch.Tensor], dtype: torch.dtype
) -> None:
    """The learned coefficients into the problem's parameters (its residuals read them)."""
    unknown = [name for name in coefficients if name not in problem.parameters]
    if unknown:
        raise ConfigurationError(
            f"load({str(folder)!r}): the run learned coefficient(s) {unknown}, which the problem "
            f"{problem.name!r} given does not have ({sorted(problem.parameters)}). Pass the "
            "problem the run trained."
        )
    for name, value in coefficients.items():
        parameter = problem.parameters[name]
        with torch.no_grad():
            parameter.data = value.detach().to(dtype).reshape(parameter.shape).clone()
