"""A trained network as a standalone file: TorchScript (plain ``torch.jit.load``) or ONNX (any
ONNX runtime), and the prediction as VTK fields (:mod:`deepinn.runs._vtk`).

A network file maps an (N, d) tensor of points (columns in the order of the problem's
coordinates) to the outputs; deepinn need not be installed where it runs. TorchScript takes any
float dtype and returns (N, k) in the network's dtype; ONNX has one input ``points`` (N, d) in
the network's dtype and one output per output name, (N,) each, with N free (a dynamic axis).
The network is traced, and the file checked against the network on other points (of another
count) before it is written, so a network whose trace would not generalise is refused, not
exported. A time-marching run's composite network is exported as every window evaluated at every
point and each point's value taken from the window of its time (the same values; the cost of a
point is that of all windows).
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from deepinn._errors import ConfigurationError, Setting
from deepinn.training.marching._networks import TimeMarchingNetwork

if TYPE_CHECKING:
    from deepinn.runs._trained import TrainedRun

__all__ = [
    "EXPORT_FORMATS", "INSTALL_EXPORT", "SUFFIX_FORMATS", "export", "format_for",
    "missing_packages",
]

EXPORT_FORMATS = ("torchscript", "onnx", "vtk")
"""The formats :func:`export` writes."""

INSTALL_EXPORT = 'pip install "deepinn[export]"'
"""How a user installs what ONNX and VTK export need (onnx, onnxscript, onnxruntime, meshio)."""

SUFFIX_FORMATS = {".onnx": "onnx", ".vtu": "vtk", ".vtk": "vtk", ".pt": "torchscript"}
"""The format a file's suffix names (any other suffix: none)."""

_SUFFIXES = {"torchscript": ".pt", "onnx": ".onnx", "vtk": ".vtu"}


def format_setting(format: str) -> Setting:
    """The fix that asks for ``format`` (``format='vtk'`` / ``--format vtk``)."""
    return Setting("format", format, python=f"format={format!r}", cli=f"--format {format}")


def path_setting(path: str | os.PathLike[str], format: str) -> Setting:
    """The fix that writes to ``path`` with ``format``'s suffix (``--out u.vtu``)."""
    suffix = _SUFFIXES[format]
    renamed = Path(path).with_suffix(suffix)
    return Setting("out", str(renamed), python=f"a file name ending in {suffix}",
                   cli=f"--out {renamed}")


def format_for(path: str | os.PathLike[str]) -> str:
    """The format ``path``'s suffix names: ``.onnx`` onnx, ``.vtu``/``.vtk`` vtk, any other
    torchscript."""
    return SUFFIX_FORMATS.get(Path(path).suffix.lower(), "torchscript")


def missing_packages(format: str, packages: tuple[str, ...]) -> None:
    """Refuse ``format`` when any of ``packages`` is not installed, naming the extra.

    Raises:
        ConfigurationError: A package is missing.
    """
    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigurationError(
            f"export: format={format!r} needs the package(s) {', '.join(missing)}, which are not "
            f"installed. Install deepinn's export extra: {INSTALL_EXPORT}."
        )


class _Standalone(torch.nn.Module):
    """``forward(x) = network(x in the network's dtype)``: the traced module."""

    def __init__(self, network: torch.nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.network = network
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x.to(self.dtype))


class _Columns(torch.nn.Module):
    """``forward(x)``: the outputs of ``network`` as a tuple of (N,) columns (ONNX's named
    outputs)."""

    def __init__(self, network: torch.nn.Module, count: int) -> None:
        super().__init__()
        self.network = network
        self.count = count

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.network(x)
        return tuple(y[:, k] for k in range(self.count))


class _Routed(torch.nn.Module):
    """A :class:`TimeMarchingNetwork` a trace can hold: every window at every point, each point
    taking the value of the window of its time (window ``k`` from edge ``k`` on, as the
    composite routes it), without the data-dependent row selection a trace cannot record."""

    def __init__(self, marching: TimeMarchingNetwork) -> None:
        super().__init__()
        self.windows = marching.windows
        self.column = marching.column
        self.starts = marching.edges[1:-1]  # where windows 1, 2, ... begin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x[:, self.column : self.column + 1]
        out: torch.Tensor | None = None
        for k, window in enumerate(self.windows):
            dtype = next(window.parameters(), x).dtype
            part = window(x.to(dtype)).to(x.dtype)
            out = part if out is None else torch.where(t >= self.starts[k - 1], part, out)
        assert out is not None  # a composite has at least one window
        return out


def _traceable(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` (a copy) with each time-marching composite in it replaced by :class:`_Routed`."""
    if isinstance(module, TimeMarchingNetwork):
        return _Routed(module)
    for name, child in list(module.named_children()):
        replaced = _traceable(child)
        if replaced is not child:
            setattr(module, name, replaced)
    return module


def standalone(run: TrainedRun) -> torch.nn.Module:
    """``run``'s network as a module to trace: a copy on the CPU, in eval mode, without
    gradients, taking points of any float dtype."""
    network = _traceable(copy.deepcopy(run.network))
    module = _Standalone(network, run.dtype).to("cpu").eval()
    module.requires_grad_(False)  # a file for inference: no graph kept by its outputs
    return module


def _points(run: TrainedRun, n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return run.problem.domain.sample_uniform(n, generator).to(torch.float64)


def _detail(error: Exception) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"


def _tolerances(dtype: torch.dtype) -> tuple[float, float]:
    """(rtol, atol) of an exported file against the network (another runtime's kernels)."""
    return (1e-9, 1e-12) if dtype == torch.float64 else (1e-4, 1e-6)


def _not_reproduced(run: TrainedRun, what: str) -> ConfigurationError:
    return ConfigurationError(
        f"export: the {what} of {type(run.network).__name__} does not reproduce the network on "
        "other points (its forward depends on the points' values or count), so it is not "
        "written. Predict with deepinn.load(run).predict(points) instead."
    )


def _torchscript(run: TrainedRun, target: Path) -> None:
    network = standalone(run)
    example, check = _points(run, 64, 0), _points(run, 37, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is the format asked
        try:
            traced = torch.jit.trace(network, example, check_trace=False)
        except Exception as error:
            raise ConfigurationError(
                f"export: the network ({type(run.network).__name__}) cannot be traced to "
                f"TorchScript ({_detail(error)})."
            ) from None
    with torch.no_grad():
        expected, got = network(check), traced(check)
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-6, atol=1e-9):
        raise _not_reproduced(run, "TorchScript trace")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        traced.save(str(target))


def _onnx(run: TrainedRun, target: Path) -> None:
    missing_packages("onnx", ("onnx", "onnxscript"))
    import onnx

    names = list(run.outputs)
    if "points" in names:
        raise ConfigurationError(
            f"export: the ONNX file's input is named 'points', and so is an output of problem "
            f"{run.problem.name!r} ({names}); rename that output to export it to ONNX."
        )
    network = _Columns(standalone(run), len(names)).eval()
    example = _points(run, 64, 0).to(run.dtype)
    quiet = logging.getLogger("torch.onnx")
    level, quiet.level = quiet.level, logging.ERROR  # "torchvision is not installed" lines
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                network, (example,), dynamo=True, input_names=["points"], output_names=names,
                dynamic_shapes=({0: torch.export.Dim("n")},), verbose=False,
            )
    except Exception as error:
        raise ConfigurationError(
            f"export: the network ({type(run.network).__name__}) cannot be exported to ONNX "
            f"({_detail(error)})."
        ) from None
    finally:
        quiet.level = level
    if program is None:  # not reached: the exporter returns the program it made
        raise ConfigurationError("export: torch.onnx.export gave no ONNX program.")
    model = program.model_proto
    model.doc_string = (
        f"deepinn run of problem {run.problem.name!r}: input points (n, {len(run.coordinates)}) "
        f"with columns {run.coordinates}; outputs {names}, (n,) each."
    )
    for key, value in {"coordinates": ",".join(run.coordinates), "outputs": ",".join(names),
                       "problem": run.problem.name}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    _check_onnx(run, network, model.SerializeToString())
    onnx.save(model, str(target))


def _check_onnx(run: TrainedRun, network: torch.nn.Module, model: bytes) -> None:
    """The ONNX model against the network on other points, where onnxruntime is installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return
    import onnxruntime

    check = _points(run, 37, 1).to(run.dtype)
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    got = session.run(None, {"points": check.numpy()})
    with torch.no_grad():
        expected = network(check)
    rtol, atol = _tolerances(run.dtype)
    for column, values in zip(expected, got, strict=True):
        if values.shape != tuple(column.shape) or not torch.allclose(
            torch.from_numpy(values).to(column.dtype), column, rtol=rtol, atol=atol
        ):
            raise _not_reproduced(run, "ONNX export")


def export(
    run: TrainedRun, path: str | os.PathLike[str], format: str = "torchscript", **options: Any
) -> Path:
    """Write ``run``'s network (``torchscript``, ``onnx``) or its prediction (``vtk``, with
    the options of :func:`deepinn.runs._vtk.export_vtk`) to ``path``; return the path written
    (for a VTK time series, its ``.series`` file).

    Raises:
        ConfigurationError: An unknown format, a file name whose suffix names another format
            (:data:`SUFFIX_FORMATS`), options the format does not take, a missing package (onnx,
            meshio), a network that cannot be traced, or a trace that does not reproduce the
            network.
    """
    if format not in EXPORT_FORMATS:
        raise ConfigurationError(
            f"export: format={format!r}; deepinn writes {', '.join(EXPORT_FORMATS)}."
        )
    suffix = Path(path).suffix.lower()
    named = SUFFIX_FORMATS.get(suffix)
    if named is not None and named != format:
        raise ConfigurationError(
            f"export: {str(path)!r}: the suffix {suffix!r} is for the {named} format, not "
            f"{format}; give {{fix}}.",
            fix=[format_setting(named), path_setting(path, format)], alternatives=True,
        )
    if format == "vtk":
        from deepinn.runs._vtk import export_vtk

        return export_vtk(run, path, **options)
    if options:
        raise ConfigurationError(
            f"export: format={format!r} takes no options ({sorted(options)}); they are for "
            "format='vtk'."
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    (_torchscript if format == "torchscript" else _onnx)(run, target)
    return target
