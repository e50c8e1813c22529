"""Coercing what a user passes to a domain: points, unit-cube points, vectors, scalars, spaces.

Domains compute in and return :data:`DTYPE` (float64); a wrong shape, dimension or value is a
``ShapeError`` or ``GeometryError`` naming it.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from deepinn._errors import GeometryError, ShapeError
from deepinn.spaces import Points, Space

__all__ = ["DTYPE", "as_points", "as_scalar", "as_unit", "as_vector", "require_dim"]

DTYPE = torch.float64
"""Domains compute and return float64."""


def require_dim(cls_name: str, space: Space, dim: int) -> None:
    """Raise unless ``space`` is a Space of dimension ``dim``.

    Raises:
        GeometryError: ``space`` is not a Space or has another dimension.
    """
    if not isinstance(space, Space):
        raise GeometryError(f"{cls_name} needs a deepinn.spaces.Space; got {space!r}.")
    if space.dim != dim:
        raise GeometryError(
            f"{cls_name} lives in a {dim}-D space but {space!r} has dimension {space.dim}; "
            f"use e.g. dp.spaces.R{dim}('x')."
        )


def as_points(points: torch.Tensor | Points | object, space: Space) -> torch.Tensor:
    """Coerce ``points`` to a float64 (N, space.dim) tensor.

    Args:
        points: A tensor, list, numpy array or ``Points``. A ``Points`` of a larger space (for
            example ``t`` and ``x`` given to a domain in ``x``) contributes the columns of the
            domain's variables. A 1-D input is N points of a 1-D space, or one point otherwise.
        space: The space the points must live in.

    Returns:
        A float64 tensor of shape (N, space.dim).

    Raises:
        ShapeError: The points have the wrong number of columns or miss a variable.
    """
    if isinstance(points, Points):
        if points.space == space:
            tensor = points.as_tensor
        elif all(points.space.variables.get(v) == d for v, d in space.variables.items()):
            tensor = torch.cat([points[v] for v in space.variables], dim=1)
        else:
            raise ShapeError(
                f"Points of {points.space!r} cannot be used in a domain of {space!r}: the "
                f"variables {list(space.variables)} are missing or have other dimensions."
            )
    elif isinstance(points, torch.Tensor):
        tensor = points
    else:
        tensor = torch.as_tensor(np.asarray(points, dtype=np.float64))
    tensor = tensor.detach().to(DTYPE) if tensor.requires_grad else tensor.to(DTYPE)
    if tensor.dim() == 1:
        tensor = tensor.unsqueeze(1) if space.dim == 1 else tensor.unsqueeze(0)
    if tensor.dim() != 2 or tensor.shape[1] != space.dim:
        raise ShapeError(
            f"Points of {space!r} need shape (N, {space.dim}); got {tuple(tensor.shape)}. "
            f"Pass one row per point with {space.dim} coordinates."
        )
    return tensor


def as_unit(u: object, k: int) -> torch.Tensor:
    """Coerce points of the unit cube [0, 1]^k to a float64 (N, k) tensor.

    Raises:
        ShapeError: ``u`` does not have ``k`` columns.
    """
    tensor = u if isinstance(u, torch.Tensor) else torch.as_tensor(np.asarray(u, dtype=np.float64))
    tensor = tensor.detach().to(DTYPE)
    if tensor.dim() == 1 and k == 1:
        tensor = tensor.unsqueeze(1)
    if tensor.dim() != 2 or tensor.shape[1] != k:
        raise ShapeError(
            f"from_unit needs points of [0, 1]^{k} of shape (N, {k}); got {tuple(tensor.shape)}."
        )
    return tensor


def as_vector(value: object, name: str, space: Space) -> torch.Tensor:
    """Coerce a corner or center to a float64 tensor of shape (space.dim,).

    Raises:
        GeometryError: The value has the wrong number of coordinates or is not finite.
    """
    if isinstance(value, Points):
        value = value.as_tensor
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to(DTYPE).reshape(-1)
    else:
        try:
            tensor = torch.as_tensor(np.asarray(value, dtype=np.float64)).reshape(-1)
        except (TypeError, ValueError):
            raise GeometryError(
                f"{name} must be a list of {space.dim} numbers; got {value!r}."
            ) from None
    if tensor.numel() != space.dim:
        raise GeometryError(
            f"{name} has {tensor.numel()} coordinates but space {space!r} has {space.dim}; "
            f"give {name} as {space.dim} numbers."
        )
    if not bool(torch.isfinite(tensor).all()):
        raise GeometryError(f"{name} must be finite; got {tensor.tolist()}.")
    return tensor


def as_scalar(value: object, name: str) -> float:
    """Coerce a number (or a one-element sequence) to float.

    Raises:
        GeometryError: The value is not one finite number.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().reshape(-1).tolist()
    array = np.asarray(value, dtype=np.float64).reshape(-1) if not isinstance(value, str) else None
    if array is None or array.size != 1 or not math.isfinite(float(array[0])):
        raise GeometryError(f"{name} must be one finite number; got {value!r}.")
    return float(array[0])
