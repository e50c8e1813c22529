"""Names in a Field: output names, coordinate and variable names, and the input tensor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.spaces import Space

__all__ = [
    "Names",
    "check_output_names",
    "input_tensor",
    "output_column",
    "resolve",
    "resolve_columns",
    "single_column",
]

Names = Union[str, Sequence[str], None]
"""Coordinates by name: one name, several, or None for all."""


def resolve_columns(space: Space, names: Names) -> list[int]:
    """The distinct columns named by ``names`` (coordinates or whole variables), in order.

    Args:
        space: The space whose coordinates are named.
        names: A coordinate (``'t'``, ``'x0'``), a variable (``'x'``: all its columns), a
            sequence of those, or None for every column.

    Raises:
        ConfigurationError: An unknown name, no name, or a column named twice.
    """
    if names is None:
        return list(range(space.dim))
    if isinstance(names, str):
        names = [names]
    columns: list[int] = []
    for name in names:
        columns.extend(resolve(space, name))
    if not columns:
        raise ConfigurationError(
            "No coordinate was named; pass a name such as "
            f"{space.coordinate_names()[0]!r}, or None for all."
        )
    if len(set(columns)) != len(columns):
        raise ConfigurationError(
            f"Coordinates {list(names)} name a column twice; name each coordinate once."
        )
    return columns


def single_column(space: Space, name: str) -> int:
    """The one column a coordinate name (``'t'``, ``'x0'``) names, for a partial derivative.

    Raises:
        ConfigurationError: An unknown name, or a variable of several coordinates.
    """
    columns = resolve_columns(space, name)
    if len(columns) != 1:
        coordinate_names = space.coordinate_names()
        raise ConfigurationError(
            f"{name!r} names {len(columns)} coordinates "
            f"{[coordinate_names[c] for c in columns]}; a partial derivative needs one "
            "coordinate, e.g. one of those."
        )
    return columns[0]


def output_column(output_names: tuple[str, ...], name: str) -> int:
    """The column of output ``name``.

    Raises:
        ConfigurationError: ``name`` is not one of ``output_names``.
    """
    if isinstance(name, str) and name in output_names:
        return output_names.index(name)
    raise ConfigurationError(
        f"Output {name!r} is not one of this Field's outputs {list(output_names)}; pass one of "
        "them (set output_names when building the Field)."
    )


def resolve(space: Space, name: object) -> list[int]:
    """The columns of a coordinate name (``'x0'``, ``'t'``) or a variable name (``'x'``)."""
    if isinstance(name, str):
        coordinate_names = space.coordinate_names()
        if name in coordinate_names:
            return [coordinate_names.index(name)]
        if name in space.variables:
            return list(range(space.dim))[space.slice(name)]
    raise ConfigurationError(
        f"Coordinate {name!r} is not in {space!r}; its coordinates are "
        f"{space.coordinate_names()} and its variables {list(space.variables)}."
    )


def check_output_names(output_names: str | Sequence[str]) -> tuple[str, ...]:
    """``output_names`` as a tuple of distinct non-empty names.

    Raises:
        ConfigurationError: No name, an empty or non-string name, or a repeated name.
    """
    names = (output_names,) if isinstance(output_names, str) else tuple(output_names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigurationError(
            f"output_names {output_names!r} must be one or more non-empty strings, one per "
            "output column of the network, e.g. ('u',) or ('u', 'v', 'p')."
        )
    if len(set(names)) != len(names):
        raise ConfigurationError(f"output_names {list(names)} repeats a name; make them unique.")
    return names


def input_tensor(x: object, space: Space) -> torch.Tensor:
    """The (N, d) tensor to differentiate with respect to, requiring grad."""
    if not isinstance(x, torch.Tensor):
        raise ConfigurationError(
            f"Field needs the points as a tensor or Points; got {type(x).__name__}."
        )
    if not x.is_floating_point():
        raise ConfigurationError(
            f"Field points have dtype {x.dtype}; convert them to floating point (x.double())."
        )
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    if x.dim() == 1 and space.dim == 1:
        x = x.unsqueeze(1)
    if x.dim() != 2 or x.shape[1] != space.dim:
        raise ShapeError(
            f"Field points of {space!r} must have shape (N, {space.dim}); got "
            f"{tuple(x.shape)}. Use one column per coordinate {space.coordinate_names()}."
        )
    return x
