"""The constraint contract: points to enforce something at, a residual there, a weight, a name."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError, DeepinnError, ShapeError
from deepinn.operators import Field
from deepinn.spaces import Space

__all__ = ["AbstractConstraint", "Batch"]

Batch = dict[str, torch.Tensor]
"""What a constraint samples: ``{"x": (N, d) points, ...}`` plus per-point data it precomputes
(targets, normals). Every tensor has N rows, so a batch can be sharded across ranks by rows."""


class AbstractConstraint(abc.ABC):
    """A term of the PINN loss: ``weight * mean(residual ** 2)`` over the constraint's points.

    Attributes:
        name: Unique within a problem; the loss is logged as ``train/loss/<name>``.
        space: The input space of the network (the columns of ``x``).
        weight: Multiplies the mean squared residual.
        order: The highest derivative order the residual takes of the network output
            (0: values only, 1: gradients, 2: second derivatives). Constraints of one order are
            evaluated in one forward pass.
        second_order: Coordinates whose second derivatives the residual needs (a hint that
            lets networks with a forward Laplacian compute them in the forward pass).
        laplacian_only: The residual takes those second derivatives only as their sum, the
            Laplacian (a network can then carry one Laplacian lane instead of one per
            coordinate).
        infer_hints: Set the three hints above from one recording pass of the residual before
            training (a Python residual given without hints).
        columns: The number of columns the residual has, when the constraint knows it (None:
            any number except one per point, the mark of an (N,) - (N, 1) broadcast).
    """

    order: int = 0
    second_order: tuple[str, ...] | None = None
    laplacian_only: bool = False
    infer_hints: bool = False
    columns: int | None = None

    def __init__(self, name: str, space: Space, weight: float = 1.0) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigurationError(
                f"Constraint name {name!r} must be an identifier (it names the logged loss), "
                "e.g. 'pde' or 'boundary'."
            )
        weight = float(weight)
        if not weight >= 0.0 or weight == float("inf"):
            raise ConfigurationError(
                f"Constraint {name!r} has weight {weight!r}; use a finite number >= 0."
            )
        self.name = name
        self.space = space
        self.weight = weight

    @abc.abstractmethod
    def sample(self, generator: torch.Generator) -> Batch:
        """Draw this constraint's points (and precompute their data), on the CPU."""

    def inputs(self, batch: Batch) -> torch.Tensor:
        """The network inputs for this batch (``batch['x']``; periodic pairs add partners)."""
        return batch["x"]

    @abc.abstractmethod
    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        """The residual (N, m) at ``batch['x']`` given the network's ``Field`` there."""

    def checked_residual(self, field: Field, batch: Batch) -> torch.Tensor:
        """``residual`` as (N, m) with N = len(x), checked (see :func:`residual_columns`)."""
        n = batch["x"].shape[0]
        return residual_columns(self.residual(field, batch), n, self.name, self.columns)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, weight={self.weight})"


def residual_columns(value: object, n: int, name: str, columns: int | None = None) -> torch.Tensor:
    """A residual as (n, m): a 1-D (n,) tensor becomes a column; anything else must be (n, m).

    Refused, because a loss over them trains to a wrong answer: a Python number or a 0-d tensor
    (no point dimension), a wrong number of rows, a number of columns other than ``columns``
    and, when ``columns`` is None, (n, n) for n > 1, which is what subtracting an (n, 1) column
    from an (n,) vector broadcasts to.

    Raises:
        ShapeError: Naming the constraint, the shape, the expected (n, m) and the fix.
    """
    if not isinstance(value, torch.Tensor) or value.dim() == 0:
        shown = f"the {type(value).__name__} {value!r}"
        if isinstance(value, torch.Tensor):
            shown = "a 0-d tensor"
        raise ShapeError(
            f"Constraint {name!r} returned {shown} as its residual; it must be a tensor of "
            f"shape ({n}, m), one row per point. Compute it from the field, e.g. "
            "field['u'] - target, so that it keeps the point dimension."
        )
    original = tuple(value.shape)
    if value.dim() == 1:
        value = value.unsqueeze(1)
    shape = tuple(value.shape)
    as_column = f" (as a column {shape})" if shape != original else ""
    expected = f"({n}, {columns})" if columns is not None else f"({n}, m)"
    if value.dim() != 2 or shape[0] != n:
        raise ShapeError(
            f"Constraint {name!r} returned a residual of shape {original}{as_column} for {n} "
            f"points; it must have shape {expected}. Keep the point dimension first, e.g. "
            "return field['u'] - target with both of shape (N, 1)."
        )
    if columns is not None and shape[1] != columns:
        raise ShapeError(
            f"Constraint {name!r} returned a residual of shape {original} for {n} points; it "
            f"must have shape {expected}, one column per condition."
        )
    if columns is None and n > 1 and shape[1] == n:
        raise ShapeError(
            f"Constraint {name!r} returned a residual of shape {original} for {n} points, one "
            f"column per point: the mark of an ({n},) vector minus an ({n}, 1) column, which "
            f"broadcasts to ({n}, {n}). Expected ({n}, m): make every term a column first, e.g. "
            "torch.sin(x[:, :1]) rather than torch.sin(x[:, 0]). A residual that really has one "
            f"column per point declares it: columns={n}."
        )
    return value


def checked_callable(
    constraint: str, what: str, function: Any, usage: str, optional: bool = False
) -> Any:
    """``function`` when it is callable (or None where ``optional``).

    Raises:
        ConfigurationError: Naming the constraint, the argument, the value and ``usage``.
    """
    if not callable(function) and not (optional and function is None):
        raise ConfigurationError(
            f"Constraint {constraint!r}: {what} = {function!r} is not callable; give {usage}."
        )
    return function


def user_values(
    function: Callable[[torch.Tensor], object],
    x: torch.Tensor,
    what: str,
    columns: int | None = None,
) -> torch.Tensor:
    """``function(x)`` (a user's source, value or rate) as (n, m) columns (:func:`as_columns`).

    Raises:
        ConfigurationError: The function raised (naming ``what``, the exception and the points'
            shape; a deepinn error it raised passes unchanged), or gave values that are not
            finite.
        ShapeError: See :func:`as_columns`.
    """
    try:
        values = function(x)
    except DeepinnError:
        raise
    except Exception as error:
        raise ConfigurationError(
            f"{what} raised {type(error).__name__}: {error} (called with points of shape "
            f"{tuple(x.shape)}, a row per point, a column per coordinate); fix the function: it "
            "must return (N,) or (N, m) values, e.g. torch.sin(x[:, :1])."
        ) from error
    result = as_columns(values, len(x), what, columns)
    finite = torch.isfinite(result).all(dim=1)
    if not bool(finite.all()):
        first = x[~finite.to(x.device)][0].tolist()
        raise ConfigurationError(
            f"{what} is not finite at {int((~finite).sum())} of {len(x)} points (the first at "
            f"x = {first}); the loss would be nan from the first step. Fix the function there "
            "(a division by zero, a log or sqrt of a negative number, ...)."
        )
    return result


def as_columns(values: object, n: int, what: str, columns: int | None = None) -> torch.Tensor:
    """User-supplied per-point values (targets, sources) as (n, m) columns.

    A number or a 0-d tensor is the same value at every point; a 1-D (n,) tensor becomes a
    column. With ``columns``, a single column is repeated to ``columns`` columns and any other
    number of columns is refused.

    Raises:
        ShapeError: Naming ``what``, the shape, the expected (n, m) and the fix.
    """
    try:
        values = torch.as_tensor(values)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ShapeError(
            f"{what} gave {type(values).__name__} {values!r:.80}, not numbers ({error}); "
            f"return a tensor of shape ({n},) or ({n}, m), one row per point."
        ) from error
    if values.dtype == torch.bool or values.is_complex():
        raise ShapeError(
            f"{what} gave a tensor of dtype {values.dtype}; return real numbers, shape ({n},) "
            f"or ({n}, m)."
        )
    original = tuple(values.shape)
    if values.dim() == 0:
        values = values.expand(n)
    if values.dim() == 1:
        values = values.unsqueeze(1)
    expected = f"({n}, {columns})" if columns is not None else f"({n}, m)"
    if values.dim() != 2 or values.shape[0] != n:
        raise ShapeError(
            f"{what} has shape {original}; expected ({n},) or {expected}, one row per point. "
            "Return one value per row of x, e.g. torch.sin(x[:, :1])."
        )
    if columns is not None and values.shape[1] != columns:
        if values.shape[1] != 1:
            raise ShapeError(
                f"{what} has shape {original}; expected ({n},) or {expected}, one column per "
                "output (or a single column shared by all outputs)."
            )
        values = values.repeat(1, columns)
    return values


def output_indices(outputs: Sequence[str] | str, available: Sequence[str]) -> list[int]:
    """The column indices of the named outputs, with a clear error for an unknown one."""
    names = [outputs] if isinstance(outputs, str) else list(outputs)
    missing = [name for name in names if name not in available]
    if missing:
        raise ConfigurationError(
            f"Unknown output(s) {missing}; the network's outputs are {list(available)}."
        )
    return [list(available).index(name) for name in names]
