"""Boundary conditions: Dirichlet, Robin, Neumann (outward normal derivative) and periodic."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.constraints._abstract import Batch, checked_callable, user_values
from deepinn.constraints._sampled import (
    POINT_FUNCTION,
    PointFunction,
    SampledConstraint,
    normal_derivative,
    output_names,
    output_values,
)
from deepinn.operators import Field
from deepinn.spaces import Space

__all__ = ["DirichletBC", "NeumannBC", "PeriodicBC", "RobinBC"]


class DirichletBC(SampledConstraint):
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
        self.value = checked_callable(name, "value", value, POINT_FUNCTION)
        self.outputs = output_names(outputs)
        self.columns = len(self.outputs)

    def sample(self, generator: torch.Generator) -> Batch:
        x = self._draw(generator)
        target = user_values(self.value, x, f"{self.name}: value(x)", self.columns)
        return {"x": x, "target": target.to(x)}

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        return output_values(field, self.outputs) - batch["target"]


def _boundary_normals(name: str, sampler: object, x: torch.Tensor) -> torch.Tensor:
    normal = getattr(sampler.domain, "normal", None)  # type: ignore[attr-defined]
    if normal is None:
        raise ConfigurationError(
            f"Constraint {name!r} needs outward normals, but its sampler's domain "
            f"{sampler.domain!r} is not a boundary; sample `domain.boundary` instead."  # type: ignore[attr-defined]
        )
    return torch.as_tensor(normal(x)).to(x)


class RobinBC(SampledConstraint):
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
        self.value = checked_callable(name, "value", value, POINT_FUNCTION)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.outputs = output_names(outputs)
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
        result = self.beta * normal_derivative(field, self.outputs, batch["normal"])
        if self.alpha != 0.0:
            result = result + self.alpha * output_values(field, self.outputs)
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


class PeriodicBC(SampledConstraint):
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
        self.outputs = output_names(outputs)
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
        values = output_values(field, self.outputs)
        parts = [values[:n] - values[n:]]
        if self.derivatives:
            for name in self.outputs:
                gradient = field.grad(name)
                parts.append(gradient[:n] - gradient[n:])
        return torch.cat(parts, dim=1)
