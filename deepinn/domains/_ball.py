"""Balls: Circle (the disk in 2-D) and Sphere (the ball in 3-D)."""

from __future__ import annotations

import math

import torch

from deepinn._errors import GeometryError
from deepinn.domains._abstract import AbstractDomain, BoundingBox
from deepinn.domains._coerce import DTYPE, as_points, as_scalar, as_unit, as_vector, require_dim
from deepinn.domains._pieces import SphereSurface
from deepinn.domains._tolerance import tolerance_for
from deepinn.spaces import Points, Space

__all__ = ["Circle", "Sphere"]


class _Ball(AbstractDomain):
    """The closed ball of ``center`` and ``radius``; exact volume, radial normals."""

    _name = "Ball"
    _dim = 0

    def __init__(self, space: Space, center: object, radius: float) -> None:
        require_dim(self._name, space, self._dim)
        self.space = space
        self.center = as_vector(center, "center", space)
        self.radius = as_scalar(radius, f"{self._name} radius")
        if self.radius <= 0.0:
            raise GeometryError(
                f"{self._name} radius must be positive; got {self.radius}. Give a radius > 0."
            )
        lower, upper = self.bounding_box()
        self.tolerance = tolerance_for(lower, upper)
        self._boundary = SphereSurface(space, self.center, self.radius, self.tolerance)

    def bounding_box(self) -> BoundingBox:
        return self.center - self.radius, self.center + self.radius

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        return (x - self.center).norm(dim=1) <= self.radius + self.tolerance

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.from_unit(torch.rand(n, self.dim, generator=generator, dtype=DTYPE))

    @property
    def boundary(self) -> SphereSurface:
        return self._boundary

    def __repr__(self) -> str:
        return f"{self._name}({self.space!r}, {self.center.tolist()}, {self.radius})"


class Circle(_Ball):
    """The closed disk of ``center`` and ``radius`` in a 2-D space; its boundary is the circle.

    ``from_unit`` maps ``(u0, u1)`` to radius ``R sqrt(u0)`` and angle ``2 pi u1``.

    Args:
        space: A 2-D space, e.g. ``R2('x')``.
        center: The center, 2 coordinates.
        radius: A positive radius.

    Raises:
        GeometryError: A non-positive radius or a center without 2 coordinates.
    """

    _name = "Circle"
    _dim = 2

    @property
    def volume(self) -> float:
        return math.pi * self.radius**2

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        u = as_unit(u, 2)
        r = self.radius * u[:, 0].sqrt()
        angle = 2.0 * math.pi * u[:, 1]
        return self.center + torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1)


class Sphere(_Ball):
    """The closed ball of ``center`` and ``radius`` in a 3-D space; its boundary is the sphere.

    ``from_unit`` maps ``(u0, u1, u2)`` to radius ``R u0^(1/3)``, height ``1 - 2 u1`` and
    angle ``2 pi u2``.

    Args:
        space: A 3-D space, e.g. ``R3('x')``.
        center: The center, 3 coordinates.
        radius: A positive radius.

    Raises:
        GeometryError: A non-positive radius or a center without 3 coordinates.
    """

    _name = "Sphere"
    _dim = 3

    @property
    def volume(self) -> float:
        return 4.0 / 3.0 * math.pi * self.radius**3

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        u = as_unit(u, 3)
        r = self.radius * u[:, 0].pow(1.0 / 3.0)
        z = 1.0 - 2.0 * u[:, 1]
        rho = (1.0 - z * z).clamp_min(0.0).sqrt()
        phi = 2.0 * math.pi * u[:, 2]
        unit = torch.stack([rho * torch.cos(phi), rho * torch.sin(phi), z], dim=1)
        return self.center + r.unsqueeze(1) * unit
