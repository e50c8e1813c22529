"""The built-in constraints: PDE interior, Dirichlet, Neumann, Robin, periodic, initial, data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.constraints._abstract import (
    AbstractConstraint,
    Batch,
    as_columns,
    checked_callable,
    residual_columns,
    user_values,
)
from deepinn.operators import Field
from deepinn.spaces import Space

__all__ = [
    "DataConstraint",
    "DirichletBC",
    "InitialCondition",
    "NeumannBC",
    "PDEConstraint",
    "PeriodicBC",
    "RobinBC",
]

PointFunction = Callable[[torch.Tensor], torch.Tensor]
"""A function of an (N, d) points tensor returning (N,) or (N, m) values."""

_POINT_FUNCTION = "a function of the (N, d) points returning (N,) or (N, m) values"


def _outputs(outputs: Sequence[str] | str) -> tuple[str, ...]:
    return (outputs,) if isinstance(outputs, str) else tuple(outputs)


def _values(field: Field, outputs: tuple[str, ...]) -> torch.Tensor:
    columns = [field[name] for name in outputs]
    return columns[0] if len(columns) == 1 else torch.cat(columns, dim=1)


def _normal_derivative(
    field: Field, outputs: tuple[str, ...], normal: torch.Tensor
) -> torch.Tensor:
    columns = [(field.grad(name) * normal).sum(dim=1, keepdim=True) for name in outputs]
    return torch.cat(columns, dim=1)


class _Sampled(AbstractConstraint):
    """A constraint whose points come from a sampler (re-drawn on each resampling).

    Attributes:
        point_map: None, or a function applied to every drawn point set (N, d) before the batch
            (targets, normals, partners) is made from it; time marching sets one that moves the
            time column into a window.
    """

    point_map: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __init__(self, name: str, sampler: object, weight: float, space: Space | None) -> None:
        domain = getattr(sampler, "domain", None)
        if domain is None or not hasattr(sampler, "sample_points"):
            raise ConfigurationError(
                f"Constraint {name!r} needs a sampler (deepinn.samplers.*), got {sampler!r}."
            )
        super().__init__(name, space or domain.space, weight)
        self.sampler: Any = sampler

    def _draw(self, generator: torch.Generator | None) -> torch.Tensor:
        points = self.sampler.sample_points(generator).as_tensor.detach()
        return points if self.point_map is None else self.point_map(points)


class PDEConstraint(_Sampled):
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
        self.source = checked_callable(name, "source", source, _POINT_FUNCTION, optional=True)
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


class DirichletBC(_Sampled):
    """Prescribed values: ``u(x) = value(x)`` at the sampled (boundary) points."""

    order = 0

    def __init__(
        self,
        name: str,
        sampler: object,
        value: PointFunction,
        outputs: Sequence[str] | str = "u",
        weight: float = 1.0,
        space: Space | None = None,
    ) -> None:
        super().__init__(name, sampler, weight, space)
        self.value = checked_callable(name, "value", value, _POINT_FUNCTION)
        self.outputs = _outputs(outputs)
        self.columns = len(self.outputs)

    def sample(self, generator: torch.Generator) -> Batch:
        x = self._draw(generator)
        target = user_values(self.value, x, f"{self.name}: value(x)", self.columns)
        return {"x": x, "target": target.to(x)}

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        return _values(field, self.outputs) - batch["target"]


def _boundary_normals(name: str, sampler: object, x: torch.Tensor) -> torch.Tensor:
    normal = getattr(sampler.domain, "normal", None)  # type: ignore[attr-defined]
    if normal is None:
        raise ConfigurationError(
            f"Constraint {name!r} needs outward normals, but its sampler's domain "
            f"{sampler.domain!r} is not a boundary; sample `domain.boundary` instead."  # type: ignore[attr-defined]
        )
    return torch.as_tensor(normal(x)).to(x)


class RobinBC(_Sampled):
    """``alpha * u + beta * du/dn = value(x)`` on a boundary (outward normal derivative)."""

    order = 1

    def __init__(
        self,
        name: str,
        sampler: object,
        value: PointFunction,
        alpha: float = 1.0,
        beta: float = 1.0,
        outputs: Sequence[str] | str = "u",
        weight: float = 1.0,
        space: Space | None = None,
    ) -> None:
        super().__init__(name, sampler, weight, space)
        self.value = checked_callable(name, "value", value, _POINT_FUNCTION)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.outputs = _outputs(outputs)
        self.columns = len(self.outputs)

    def sample(self, generator: torch.Generator) -> Batch:
        x = self._draw(generator)
        target = user_values(self.value, x, f"{self.name}: value(x)", self.columns)
        return {
            "x": x,
            "normal": _boundary_normals(self.name, self.sampler, x),
            "target": target.to(x),
        }

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        result = self.beta * _normal_derivative(field, self.outputs, batch["normal"])
        if self.alpha != 0.0:
            result = result + self.alpha * _values(field, self.outputs)
        return result - batch["target"]


class NeumannBC(RobinBC):
    """Prescribed outward normal derivative: ``du/dn(x) = flux(x)`` on a boundary."""

    def __init__(
        self,
        name: str,
        sampler: object,
        flux: PointFunction,
        outputs: Sequence[str] | str = "u",
        weight: float = 1.0,
        space: Space | None = None,
    ) -> None:
        super().__init__(name, sampler, flux, 0.0, 1.0, outputs, weight, space)


class PeriodicBC(_Sampled):
    """``u(x) = u(x + shift)`` (and the gradients too, with ``derivatives=True``).

    The sampler draws points ``x`` on one face; the partner points are ``x + shift``.
    """

    def __init__(
        self,
        name: str,
        sampler: object,
        shift: Sequence[float],
        outputs: Sequence[str] | str = "u",
        derivatives: bool = False,
        weight: float = 1.0,
        space: Space | None = None,
    ) -> None:
        super().__init__(name, sampler, weight, space)
        self.shift = torch.as_tensor(shift, dtype=torch.float64).reshape(-1)
        if self.shift.numel() != self.space.dim:
            raise ShapeError(
                f"Periodic constraint {name!r}: shift has {self.shift.numel()} entries but the "
                f"space {self.space!r} has {self.space.dim} coordinates."
            )
        self.outputs = _outputs(outputs)
        self.derivatives = derivatives
        self.order = 1 if derivatives else 0
        self.columns = len(self.outputs) * (1 + self.space.dim if derivatives else 1)

    def sample(self, generator: torch.Generator) -> Batch:
        x = self._draw(generator)
        return {"x": x, "partner": x + self.shift.to(x)}

    def inputs(self, batch: Batch) -> torch.Tensor:
        return torch.cat([batch["x"], batch["partner"]])

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        n = batch["x"].shape[0]
        values = _values(field, self.outputs)
        parts = [values[:n] - values[n:]]
        if self.derivatives:
            for name in self.outputs:
                gradient = field.grad(name)
                parts.append(gradient[:n] - gradient[n:])
        return torch.cat(parts, dim=1)


class InitialCondition(_Sampled):
    """``u(x, t0) = value(x)`` and optionally ``du/dt(x, t0) = rate(x)``.

    The sampler draws points of the spatial domain; the time column ``t0`` is inserted where the
    full space puts its time variable. ``value`` and ``rate`` get the full (N, d) points.
    """

    def __init__(
        self,
        name: str,
        sampler: object,
        space: Space,
        value: PointFunction,
        rate: PointFunction | None = None,
        time: str = "t",
        t0: float = 0.0,
        outputs: Sequence[str] | str = "u",
        weight: float = 1.0,
    ) -> None:
        super().__init__(name, sampler, weight, space)
        if time not in space or space.variables[time] != 1:
            raise ConfigurationError(
                f"Initial condition {name!r}: time variable {time!r} is not a 1-D variable of "
                f"{space!r}; pass time=<name of the time variable>."
            )
        spatial = sampler.domain.space  # type: ignore[attr-defined]
        expected = [var for var in space if var != time]
        if list(spatial) != expected:
            raise ConfigurationError(
                f"Initial condition {name!r}: the sampler's space {spatial!r} must hold the "
                f"non-time variables {expected} of {space!r}."
            )
        self.value = checked_callable(name, "value", value, _POINT_FUNCTION)
        self.rate = checked_callable(name, "rate", rate, _POINT_FUNCTION, optional=True)
        self.time, self.t0 = time, float(t0)
        self.outputs = _outputs(outputs)
        self.order = 1 if rate is not None else 0
        self.columns = len(self.outputs) * (2 if rate is not None else 1)

    def sample(self, generator: torch.Generator) -> Batch:
        spatial = self._draw(generator)
        t_column = self.space.slice(self.time).start
        t = torch.full((len(spatial), 1), self.t0, dtype=spatial.dtype)
        x = torch.cat([spatial[:, :t_column], t, spatial[:, t_column:]], dim=1)
        k = len(self.outputs)
        batch = {"x": x, "target": user_values(self.value, x, f"{self.name}: value(x)", k)}
        if self.rate is not None:
            batch["rate"] = user_values(self.rate, x, f"{self.name}: rate(x)", k).to(x)
        batch["target"] = batch["target"].to(x)
        return batch

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        parts = [_values(field, self.outputs) - batch["target"]]
        if self.rate is not None:
            rates = torch.cat([field.partial(name, self.time) for name in self.outputs], dim=1)
            parts.append(rates - batch["rate"])
        return torch.cat(parts, dim=1)


class DataConstraint(AbstractConstraint):
    """Observed values at fixed points: ``u(x_i) = values_i``."""

    order = 0

    def __init__(
        self,
        name: str,
        space: Space,
        points: torch.Tensor | np.ndarray,
        values: torch.Tensor | np.ndarray,
        outputs: Sequence[str] | str = "u",
        weight: float = 1.0,
    ) -> None:
        super().__init__(name, space, weight)
        points = torch.as_tensor(points, dtype=torch.get_default_dtype())
        if points.dim() == 1 and space.dim == 1:
            points = points.unsqueeze(1)
        if points.dim() != 2 or points.shape[1] != space.dim or len(points) == 0:
            raise ShapeError(
                f"Data constraint {name!r}: points have shape {tuple(points.shape)}; expected "
                f"(N, {space.dim}) with N > 0 for {space!r}."
            )
        self.outputs = _outputs(outputs)
        values = as_columns(torch.as_tensor(values), len(points), f"{name}: values").to(points)
        if values.shape[1] != len(self.outputs):
            raise ShapeError(
                f"Data constraint {name!r}: values have {values.shape[1]} columns for outputs "
                f"{list(self.outputs)}; give one column per output."
            )
        self.points, self.values = points, values
        self.columns = len(self.outputs)

    @classmethod
    def from_npz(
        cls,
        name: str,
        space: Space,
        path: str | Path,
        points_key: str = "x",
        values_key: str = "u",
        **kwargs: object,
    ) -> DataConstraint:
        """Read points and values from an ``.npz`` file (arrays ``points_key``, ``values_key``)."""
        with np.load(path) as data:
            missing = [key for key in (points_key, values_key) if key not in data]
            if missing:
                raise ConfigurationError(
                    f"{path}: arrays {missing} not found; it has {sorted(data.files)}."
                )
            return cls(name, space, data[points_key], data[values_key], **kwargs)  # type: ignore[arg-type]

    def sample(self, generator: torch.Generator) -> Batch:
        return {"x": self.points, "target": self.values}

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        return _values(field, self.outputs) - batch["target"]
