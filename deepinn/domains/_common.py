"""Helpers shared by the domains: input coercion, tolerances and rejection sampling."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from deepinn._errors import GeometryError, ShapeError
from deepinn.spaces import Points, Space

__all__ = [
    "DTYPE",
    "RELATIVE_TOLERANCE",
    "as_points",
    "as_scalar",
    "as_unit",
    "as_vector",
    "collect",
    "require_dim",
    "tolerance_for",
]

DTYPE = torch.float64
"""Domains compute and return float64."""

RELATIVE_TOLERANCE = 1e-6
"""``contains`` accepts points this far outside, relative to the domain's coordinate scale."""

MAX_REJECTION_ROUNDS = 200
"""Rejection sampling gives up (with a GeometryError) after this many batches."""


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


def tolerance_for(lower: torch.Tensor, upper: torch.Tensor) -> float:
    """The ``contains`` tolerance of a set with bounding box ``(lower, upper)``."""
    scale = float(torch.maximum(lower.abs(), upper.abs()).max())
    extent = float((upper - lower).max())
    return RELATIVE_TOLERANCE * max(scale, extent, 1e-12)


def collect(
    draw: Callable[[int, torch.Generator | None], torch.Tensor],
    n: int,
    generator: torch.Generator | None,
    dim: int,
    what: str,
) -> torch.Tensor:
    """Rejection sampling: call ``draw(m, generator)`` until ``n`` points are collected.

    ``draw`` returns the accepted points of a batch of ``m`` candidates, in random order.

    Raises:
        GeometryError: No point was accepted after many batches (the set looks empty).
    """
    chunks: list[torch.Tensor] = []
    got = 0
    tried = 0
    for _ in range(MAX_REJECTION_ROUNDS):
        if got >= n:
            break
        need = n - got
        rate = got / tried if got else 0.0
        m = int(need / rate * 1.2) + 16 if rate > 0 else max(2 * need, 64)
        m = min(m, max(1_000_000, 2 * need))
        accepted = draw(m, generator)
        tried += m
        got += accepted.shape[0]
        chunks.append(accepted)
    if got < n:
        raise GeometryError(
            f"Could not sample {n} points from {what}: {got} of {tried} candidates were "
            "accepted. The set is empty or has (almost) zero measure; check its definition."
        )
    return torch.cat(chunks)[:n] if chunks else torch.empty(0, dim, dtype=DTYPE)
