"""A trained run's prediction as VTK fields for ParaView, written with meshio.

The points are a grid over the domain's bounding box (an axis per spatial coordinate, given or
``resolution`` points from lower to upper; lines, quads or hexahedra between them) or the points
of a mesh file (its cells kept). Each point carries every output by name and, where the problem
has an exact solution, ``<output>_exact`` and ``<output>_error`` (predicted minus exact); a grid
also carries ``inside`` (1 in the domain, 0 outside its bounding-box corners: ParaView's
Threshold on it shows the domain alone).

A time-dependent problem (a coordinate named ``time``, ``t`` by default; a name that is no
coordinate is refused, except the default ``t``: a problem without it is spatial) is written as a
time series: one file per time slice, ``<stem>_0000.vtu``, ``<stem>_0001.vtu``, ..., next to the
path asked for, and ``<path>.series``, the JSON index ParaView opens as one dataset with a time
axis.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from deepinn._errors import ConfigurationError, Setting, ShapeError, nearest
from deepinn.runs._export import missing_packages, path_setting

if TYPE_CHECKING:
    from deepinn.runs._trained import TrainedRun

__all__ = ["VTK_SUFFIXES", "export_vtk"]

VTK_SUFFIXES = (".vtu", ".vtk")
"""The files :func:`export_vtk` writes: VTK XML unstructured grid, or legacy VTK."""

_CELLS = {1: "line", 2: "quad", 3: "hexahedron"}
# a cell's corners, as offsets along the axes, in VTK's order
_CORNERS: dict[int, list[tuple[int, ...]]] = {
    1: [(0,), (1,)],
    2: [(0, 0), (1, 0), (1, 1), (0, 1)],
    3: [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)],
}


def _axis(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values,
                       dtype=np.float64)
    if array.ndim != 1 or len(array) < 1:
        raise ShapeError(f"grid[{name!r}]: give a 1-D array of the axis' values (got shape "
                         f"{array.shape}).")
    return array


def _axes(run: TrainedRun, grid: Mapping[str, Any], resolution: int) -> dict[str, np.ndarray]:
    """An axis per coordinate: ``grid``'s, or ``resolution`` points over the bounding box."""
    coordinates = run.coordinates
    unknown = [name for name in grid if name not in coordinates]
    if unknown:
        raise ShapeError(f"grid: the problem has no coordinate(s) {unknown}; its coordinates are "
                         f"{coordinates}.")
    box: Any = run.problem.domain.bounding_box()
    lower = torch.as_tensor(box[0]).to(torch.float64).numpy()
    upper = torch.as_tensor(box[1]).to(torch.float64).numpy()
    return {
        name: _axis(grid[name], name) if name in grid
        else np.linspace(lower[i], upper[i], resolution)
        for i, name in enumerate(coordinates)
    }


def _time(run: TrainedRun, time: str | None) -> str | None:
    """The time coordinate ``time`` names (None: none, or a problem of one coordinate).

    Raises:
        ConfigurationError: ``time`` is not a coordinate (nor the default ``t``).
    """
    coordinates = run.coordinates
    if time is not None and time not in coordinates and time != "t":
        close = nearest(time, coordinates)
        names = [close] if close is not None else coordinates
        fix = [Setting("time", name, python=f"time={name!r}", cli=f"--time {name}")
               for name in names]
        fix.append(Setting("time", None, python="time=None", cli="--time none"))
        raise ConfigurationError(
            f"export: the time coordinate {time!r} is not one of problem {run.problem.name!r}'s "
            f"coordinates {coordinates}; give {{fix}} (the last: no time slices, every "
            "coordinate a spatial axis).",
            fix=fix, alternatives=True,
        )
    return time if time in coordinates and len(coordinates) > 1 else None


def _grid_cells(shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """The cells between the points of a grid of ``shape`` (points numbered in C order; an axis
    of one point is a slice: quads in a 3-D grid one point thick)."""
    shape = tuple(n for n in shape if n > 1)  # C-order numbering is unchanged
    if not shape:
        return [("vertex", np.zeros((1, 1), dtype=np.int64))]
    index = np.arange(int(np.prod(shape))).reshape(shape)
    corners = [index[tuple(slice(o, o + n - 1) for o, n in zip(offset, shape, strict=True))]
               for offset in _CORNERS[len(shape)]]
    return [(_CELLS[len(shape)], np.stack([c.reshape(-1) for c in corners], axis=1))]


def _padded(points: np.ndarray) -> np.ndarray:
    """``points`` (N, <=3) as VTK's (N, 3) positions."""
    return np.concatenate([points, np.zeros((len(points), 3 - points.shape[1]))], axis=1)


def _mesh(mesh: Any, spatial: list[str]) -> tuple[np.ndarray, list[Any]]:
    """The points (N, len(spatial)) and cells of ``mesh`` (a meshio Mesh, or a file meshio
    reads)."""
    import meshio

    if isinstance(mesh, (str, os.PathLike)):
        try:
            mesh = meshio.read(mesh)
        except Exception as error:
            raise ConfigurationError(
                f"export: mesh {str(mesh)!r} cannot be read with meshio ({type(error).__name__}: "
                f"{' '.join(str(error).split())[:160]}); give a mesh file meshio reads (.vtu, "
                ".msh, .xdmf, ...)."
            ) from None
    if not isinstance(mesh, meshio.Mesh):
        raise ConfigurationError(
            f"export: mesh = {type(mesh).__name__}; give a meshio.Mesh or a mesh file's path."
        )
    points = np.asarray(mesh.points, dtype=np.float64)
    dim = len(spatial)
    if points.ndim != 2 or points.shape[1] < dim or np.any(points[:, dim:] != 0):
        raise ShapeError(
            f"export: the mesh's points have shape {points.shape}; the problem's space has "
            f"{dim} coordinate(s) {spatial} (extra columns must be zero)."
        )
    return points[:, :dim], list(mesh.cells)


def _fields(run: TrainedRun, x: torch.Tensor, batch_size: int) -> dict[str, np.ndarray]:
    """The prediction, and the exact solution and error where known, at ``x`` by name."""
    predicted = run.predict(x, batch_size=batch_size).to(torch.float64).numpy()
    fields = {name: predicted[:, k] for k, name in enumerate(run.outputs)}
    exact = run.problem.exact
    if exact is not None:
        values = torch.as_tensor(exact(x)).detach().to(torch.float64).reshape(len(x), -1).numpy()
        for k, name in enumerate(run.outputs):
            fields[f"{name}_exact"] = values[:, k]
            fields[f"{name}_error"] = predicted[:, k] - values[:, k]
    return fields


def _written(path: Path, points: np.ndarray, cells: list[Any], data: dict[str, np.ndarray]) -> None:
    import meshio

    meshio.Mesh(_padded(points), cells, point_data=data).write(path)


def export_vtk(
    run: TrainedRun,
    path: str | os.PathLike[str],
    *,
    grid: Mapping[str, Any] | None = None,
    mesh: Any = None,
    resolution: int = 101,
    time: str | None = "t",
    batch_size: int = 65_536,
) -> Path:
    """Write ``run``'s prediction at a grid's or a mesh's points to ``path`` (``.vtu``/``.vtk``).

    Args:
        run: The loaded run.
        path: The file to write; for a time-dependent problem, the stem of the slices'
            files and, with ``.series`` appended, the time series' index (returned).
        grid: Axes by coordinate name (1-D arrays); a coordinate not given spans the domain's
            bounding box in ``resolution`` points. The ``time`` axis gives the time slices.
        mesh: A ``meshio.Mesh`` or a mesh file: its points (the spatial coordinates, in
            order) and cells instead of a grid.
        resolution: Points per axis not given in ``grid`` (time slices included).
        time: The time coordinate (one file per slice); ``None`` treats every coordinate as
            a spatial axis (at most three). The default, ``t``, where the problem has no
            coordinate ``t``, is ``None``; any other name must be a coordinate.
        batch_size: Points per forward pass.

    Raises:
        ConfigurationError: meshio is not installed, a suffix other than .vtu/.vtk, a
            ``time`` that is no coordinate, an unreadable mesh, or more than three spatial axes.
        ShapeError: A grid axis that is not 1-D or names no coordinate, or a mesh whose points
            do not fit the problem's space.
    """
    missing_packages("vtk", ("meshio",))
    target = Path(path)
    if target.suffix.lower() not in VTK_SUFFIXES:
        raise ConfigurationError(
            f"export: {str(target)!r}: VTK export writes {' or '.join(VTK_SUFFIXES)} files "
            f"(got {target.suffix or 'no suffix'!r}); give {{fix}}.",
            fix=[path_setting(target, "vtk")], alternatives=True,
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ConfigurationError(f"export: resolution = {resolution!r}; use a positive integer.")
    coordinates = run.coordinates
    time = _time(run, time)
    spatial = [name for name in coordinates if name != time]
    if mesh is None and len(spatial) > 3:
        raise ConfigurationError(
            f"export: a VTK grid has at most three spatial axes; the problem has {spatial}. Give "
            "a mesh, or predict at your points with deepinn.load(run).predict(points)."
        )
    axes = _axes(run, dict(grid or {}), resolution)
    if mesh is not None:
        points, cells = _mesh(mesh, spatial)
    else:
        mesh_axes = np.meshgrid(*[axes[name] for name in spatial], indexing="ij")
        points = np.stack([m.reshape(-1) for m in mesh_axes], axis=1)
        cells = _grid_cells(tuple(len(axes[name]) for name in spatial))
    times = [None] if time is None else [float(value) for value in axes[time]]
    target.parent.mkdir(parents=True, exist_ok=True)
    series = []
    for k, moment in enumerate(times):
        columns = {name: points[:, i] for i, name in enumerate(spatial)}
        if moment is not None:
            columns[time or "t"] = np.full(len(points), moment)
        x = torch.from_numpy(np.stack([columns[name] for name in coordinates], axis=1))
        data = _fields(run, x, batch_size)
        if mesh is None:
            data["inside"] = run.problem.domain.contains(x).cpu().numpy().astype(np.float64)
        if moment is None:
            _written(target, points, cells, data)
            return target
        name = f"{target.stem}_{k:04d}{target.suffix}"
        _written(target.parent / name, points, cells, data)
        series.append({"name": name, "time": moment})
    index = target.parent / f"{target.name}.series"
    index.write_text(json.dumps({"file-series-version": "1.0", "files": series}, indent=1) + "\n")
    return index
