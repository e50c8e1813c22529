"""A trained network at the user's points: the points read, the outputs batched, the residuals.

Points come as an (N, d) tensor or array (columns in the order of the problem's coordinates),
or as a mapping of coordinate arrays (``{"t": ..., "x": ...}``, by coordinate name, or by
variable name with one column per dimension). Predictions run in batches under
``torch.no_grad`` on the network's device and dtype and are gathered on the CPU, so the memory
of a call is the inputs and outputs plus one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from deepinn._errors import ShapeError
from deepinn.constraints import AbstractConstraint, PDEConstraint
from deepinn.constraints._abstract import user_values
from deepinn.operators import Field
from deepinn.spaces import Points, Space

__all__ = [
    "as_points", "batched_partial", "batched_predict", "batched_residuals", "grid_points",
    "pde_constraints",
]


def _as_tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        array = np.asarray(value)
    except Exception as error:
        raise ShapeError(f"{what}: {type(value).__name__} is not an array ({error}).") from None
    if array.dtype.kind not in "fiu":
        raise ShapeError(
            f"{what}: values of dtype {array.dtype} are not numbers; give numbers (floats)."
        )
    return torch.from_numpy(np.ascontiguousarray(array))


def _from_mapping(points: Mapping[str, Any], space: Space) -> torch.Tensor:
    coordinates = space.coordinate_names()
    columns: dict[str, torch.Tensor] = {}
    for key, value in points.items():
        tensor = _as_tensor(value, f"points[{key!r}]")
        if key in coordinates:
            columns[key] = tensor.reshape(-1)
        elif key in space.names and space.variables[key] > 1:
            dim, start = space.variables[key], space.slice(key).start or 0
            if tensor.dim() != 2 or tensor.shape[1] != dim:
                raise ShapeError(
                    f"points[{key!r}] has shape {tuple(tensor.shape)}; the variable {key!r} has "
                    f"{dim} dimensions: give (N, {dim}), or one array per coordinate "
                    f"{coordinates[start : start + dim]}."
                )
            for index in range(dim):
                columns[coordinates[start + index]] = tensor[:, index]
        else:
            raise ShapeError(
                f"points[{key!r}]: the problem has no coordinate {key!r}; its coordinates are "
                f"{coordinates}."
            )
    missing = [name for name in coordinates if name not in columns]
    if missing:
        raise ShapeError(
            f"points: no values for coordinate(s) {missing}; give one array for each of "
            f"{coordinates}."
        )
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ShapeError(
            f"points: the coordinate arrays have different lengths {lengths}; give one value per "
            "point in each (for a grid, build it first: numpy.meshgrid, then .ravel())."
        )
    return torch.stack([columns[name] for name in coordinates], dim=1)


def grid_points(axes: Mapping[str, Any], space: Space) -> tuple[torch.Tensor, tuple[int, ...]]:
    """The points of the grid whose axes ``axes`` gives (a 1-D array per coordinate), in the
    order of the coordinates (the first one varies slowest), and the grid's shape.

    Raises:
        ShapeError: Not a mapping of one 1-D array for each coordinate.
    """
    coordinates = space.coordinate_names()
    if not isinstance(axes, Mapping) or sorted(axes) != sorted(coordinates):
        given = sorted(axes) if isinstance(axes, Mapping) else type(axes).__name__
        raise ShapeError(
            f"grid=True takes a dict of one 1-D array per coordinate {coordinates}; got {given}."
        )
    columns = [_as_tensor(axes[name], f"points[{name!r}]") for name in coordinates]
    bad = [name for name, c in zip(coordinates, columns, strict=True) if c.dim() != 1]
    if bad:
        raise ShapeError(f"grid=True: the axes {bad} are not 1-D arrays; give one 1-D array each.")
    dtype = torch.promote_types(columns[0].dtype, torch.float32)
    for column in columns[1:]:
        dtype = torch.promote_types(dtype, column.dtype)
    mesh = torch.meshgrid(*[c.to(dtype) for c in columns], indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=1), tuple(len(c) for c in columns)


def as_points(points: Any, space: Space) -> tuple[torch.Tensor, str]:
    """``points`` as an (N, d) tensor (not copied where it can be helped), and what they came
    as: ``tensor``, ``numpy`` or ``mapping`` (of tensors: ``mapping-tensor``).

    Raises:
        ShapeError: Not (N, d) for the problem's d coordinates, or a mapping without every
            coordinate.
    """
    if isinstance(points, Points):
        return points.as_tensor.detach(), "tensor"
    if isinstance(points, Mapping):
        kind = (
            "mapping-tensor"
            if all(isinstance(v, torch.Tensor) for v in points.values())
            else "mapping"
        )
        return _from_mapping(points, space), kind
    kind = "tensor" if isinstance(points, torch.Tensor) else "numpy"
    x = _as_tensor(points, "points")
    dim = space.dim
    if x.dim() == 1 and dim == 1:
        x = x.unsqueeze(1)
    if x.dim() != 2 or x.shape[1] != dim:
        raise ShapeError(
            f"points have shape {tuple(x.shape)}; give (N, {dim}), a row per point and a column "
            f"per coordinate {space.coordinate_names()}, or a dict of coordinate arrays."
        )
    return x, kind


def _reference(network: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    parameter = next(iter(network.parameters()), None)
    if parameter is None:
        return torch.device("cpu"), torch.get_default_dtype()
    return parameter.device, parameter.dtype


def batched_predict(
    network: torch.nn.Module, x: torch.Tensor, batch_size: int = 65_536
) -> torch.Tensor:
    """``network``'s outputs at ``x`` (N, d), on the CPU in the network's dtype, computed in
    batches of ``batch_size`` rows under ``torch.no_grad``."""
    device, dtype = _reference(network)
    if len(x) == 0:
        with torch.no_grad():
            return network(x.to(device, dtype)).cpu()
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            parts.append(network(x[start : start + batch_size].to(device, dtype)).cpu())
    return torch.cat(parts)


def pde_constraints(constraints: Sequence[AbstractConstraint]) -> list[PDEConstraint]:
    """The PDE constraints among ``constraints`` (those whose residual needs only points)."""
    return [c for c in constraints if isinstance(c, PDEConstraint)]


def _batched_field(
    network: torch.nn.Module,
    x: torch.Tensor,
    space: Space,
    outputs: Sequence[str],
    batch_size: int,
    value: Callable[[Field, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """``value(field, part)`` for each batch ``part`` of ``batch_size`` rows of ``x``, ``field``
    a reverse-mode :class:`~deepinn.operators.Field` of ``network`` at ``part`` (on the network's
    device, in its dtype, requiring grad); the values detached, on the CPU, concatenated. No rows
    give no rows (of the shape one row's values have)."""
    if len(x) == 0:  # a derivative needs a point: evaluate one, keep none
        one = torch.zeros((1, *x.shape[1:]), dtype=x.dtype, device=x.device)
        return _batched_field(network, one, space, outputs, batch_size, value)[:0]
    device, dtype = _reference(network)
    parts = []
    with torch.enable_grad():
        for start in range(0, len(x), batch_size):
            part = x[start : start + batch_size].to(device, dtype).requires_grad_(True)
            field = Field(network, part, space, output_names=tuple(outputs), mode="reverse")
            parts.append(value(field, part).detach().cpu())
    return torch.cat(parts)


def batched_residuals(
    network: torch.nn.Module,
    constraint: PDEConstraint,
    x: torch.Tensor,
    space: Space,
    outputs: Sequence[str],
    batch_size: int = 16_384,
) -> torch.Tensor:
    """``constraint``'s residual (N, m) at ``x``, as the loss takes it (its ``source``
    subtracted), through a reverse-mode :class:`~deepinn.operators.Field` of ``network``;
    detached, on the CPU, in the network's dtype, in batches of ``batch_size`` rows."""
    def residual(field: Field, part: torch.Tensor) -> torch.Tensor:
        batch = {"x": part}
        if constraint.source is not None:
            what = f"{constraint.name}: source(x)"
            batch["source"] = user_values(constraint.source, part.detach(), what,
                                          constraint.columns).to(part)
        return constraint.checked_residual(field, batch)

    return _batched_field(network, x, space, outputs, batch_size, residual)


def batched_partial(
    network: torch.nn.Module,
    x: torch.Tensor,
    space: Space,
    outputs: Sequence[str],
    output: str,
    coordinates: Sequence[str],
    batch_size: int = 16_384,
) -> torch.Tensor:
    """The partial derivative of ``output`` by ``coordinates`` (in turn; none: the value) at
    ``x``, (N, 1), by autograd through a reverse-mode :class:`~deepinn.operators.Field`;
    detached, on the CPU, in the network's dtype, in batches of ``batch_size`` rows."""
    return _batched_field(network, x, space, outputs, batch_size,
                          lambda field, _: field.partial(output, *coordinates))


def returned(values: torch.Tensor, kind: str) -> Any:
    """``values`` as the caller gave the points: a tensor, or a numpy array."""
    return values if kind in ("tensor", "mapping-tensor") else values.numpy()
