"""The PDE residual in the interior: ``residual(field) = source(x)`` at the sampled points."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.constraints._abstract import Batch, checked_callable, residual_columns, user_values
from deepinn.constraints._sampled import POINT_FUNCTION, PointFunction, SampledConstraint
from deepinn.operators import Field
from deepinn.spaces import Space

__all__ = ["PDEConstraint"]


class PDEConstraint(SampledConstraint):
    """The PDE residual at interior points: ``residual(field) - source(x)``.

    Args:
        name: Names the logged loss.
        sampler: Draws the collocation points.
        residual: Maps the network's ``Field`` at the points to the residual (N, m) (or (N,)),
            e.g. ``lambda f: -f.laplacian('u')``.
        source: Optional right-hand side ``source(x)``, (N,) or (N, m) (or (N, 1) shared by
            the m columns); precomputed at sampling, not per step. Residual and source are made
            (N, m) columns before the subtraction, so (N,) - (N, 1) cannot broadcast to (N, N).
        weight: Loss weight.
        order: Highest derivative order the residual takes. With neither ``order`` nor
            ``second_order`` given, the three hints are inferred before training from one
            recording pass of the residual (:func:`deepinn.constraints.infer_hints`).
        second_order: Coordinates whose second derivatives the residual needs (e.g. ``('x',)``
            for the heat equation), a hint for networks with a forward Laplacian.
        laplacian_only: The residual takes those second derivatives only through
            ``field.laplacian`` over exactly those coordinates (Poisson, Helmholtz,
            Navier-Stokes), so a network can carry a single Laplacian lane.
        columns: The residual's number of columns m, checked at every step. Without it any m
            is taken except one column per point, which is refused as a broadcast.

    Raises:
        ShapeError: (at a step) The residual is a number, has the wrong number of rows or
            columns, or does not match the source's columns.
    """

    def __init__(
        self,
        name: str,
        sampler: object,
        residual: Callable[[Field], torch.Tensor],
        source: PointFunction | None = None,
        weight: float = 1.0,
        order: int | None = None,
        second_order: Sequence[str] | None = None,
        space: Space | None = None,
        laplacian_only: bool = False,
        columns: int | None = None,
    ) -> None:
        super().__init__(name, sampler, weight, space)
        if columns is not None and (not isinstance(columns, int) or columns < 1):
            raise ConfigurationError(
                f"Constraint {name!r}: columns = {columns!r}; give the residual's number of "
                "columns (an integer >= 1) or None."
            )
        if order is not None and (isinstance(order, bool) or order not in (0, 1, 2)):
            raise ConfigurationError(
                f"Constraint {name!r}: order = {order!r}; give the highest derivative order the "
                "residual takes (0, 1 or 2), or leave it out to have it inferred."
            )
        self.columns = columns
        self.residual_fn = checked_callable(
            name, "residual", residual, "a function of the field, e.g. lambda f: -f.laplacian('u')"
        )
        self.source = checked_callable(name, "source", source, POINT_FUNCTION, optional=True)
        self.infer_hints = order is None and second_order is None and not laplacian_only
        self.order = 2 if order is None else order
        self.second_order = tuple(second_order) if second_order is not None else None
        if laplacian_only and self.second_order is None:
            raise ConfigurationError(
                f"Constraint {name!r}: laplacian_only=True needs second_order=(...), the "
                "coordinates the Laplacian sums over, e.g. second_order=('x',)."
            )
        self.laplacian_only = bool(laplacian_only)

    def sample(self, generator: torch.Generator) -> Batch:
        x = self._draw(generator)
        batch = {"x": x}
        if self.source is not None:
            what = f"{self.name}: source(x)"
            batch["source"] = user_values(self.source, x, what, self.columns).to(x)
        return batch

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        n = batch["x"].shape[0]
        value = residual_columns(self.residual_fn(field), n, self.name, self.columns)
        if "source" in batch:
            source = batch["source"]
            if source.shape[1] not in (1, value.shape[1]):
                raise ShapeError(
                    f"Constraint {self.name!r}: the residual has shape {tuple(value.shape)} but "
                    f"source(x) has {tuple(source.shape)}; expected ({n}, {value.shape[1]}) or "
                    f"({n}, 1). Give the source one column per residual column."
                )
            value = value - source
        return value
