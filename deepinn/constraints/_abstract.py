"""The constraint contract: points to enforce something at, a residual there, a weight, a name."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import torch

from deepinn._errors import ConfigurationError, ShapeError
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
    """

    order: int = 0
    second_order: tuple[str, ...] | None = None
    laplacian_only: bool = False

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
    def residual(self, field: object, batch: Batch) -> torch.Tensor:
        """The residual (N, m) at ``batch['x']`` given the network's ``Field`` there."""

    def checked_residual(self, field: object, batch: Batch) -> torch.Tensor:
        """``residual`` with its shape checked against the batch: (N, m) with N = len(x)."""
        residual = self.residual(field, batch)
        n = batch["x"].shape[0]
        if residual.dim() == 1:
            residual = residual.unsqueeze(1)
        if residual.dim() != 2 or residual.shape[0] != n:
            raise ShapeError(
                f"Constraint {self.name!r} returned a residual of shape {tuple(residual.shape)} "
                f"for {n} points; it must have shape ({n}, m). Keep the point dimension first, "
                "e.g. return field['u'] - target with both of shape (N, 1)."
            )
        return residual

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, weight={self.weight})"


def as_columns(values: torch.Tensor, n: int, what: str) -> torch.Tensor:
    """Return ``values`` as (n, m): a 1-D (n,) tensor becomes a column."""
    values = torch.as_tensor(values)
    if values.dim() == 0:
        values = values.expand(n)
    if values.dim() == 1:
        values = values.unsqueeze(1)
    if values.dim() != 2 or values.shape[0] != n:
        raise ShapeError(f"{what} has shape {tuple(values.shape)}; expected ({n},) or ({n}, m).")
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
