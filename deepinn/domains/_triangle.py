"""Triangle: the closed triangle with three corners in a 2-D space."""

from __future__ import annotations

import torch

from deepinn._errors import GeometryError
from deepinn.domains._abstract import AbstractDomain, BoundingBox
from deepinn.domains._boundary import PiecewiseBoundary
from deepinn.domains._coerce import DTYPE, as_points, as_unit, as_vector, require_dim
from deepinn.domains._plane import polygon_boundary, triangle_from_unit
from deepinn.domains._tolerance import tolerance_for
from deepinn.spaces import Points, Space

__all__ = ["Triangle"]


class Triangle(AbstractDomain):
    """The closed triangle with corners ``a``, ``b``, ``c`` (either orientation).

    Exact area; ``from_unit`` folds the unit square onto the triangle (measure preserving).

    Args:
        space: A 2-D space, e.g. ``R2('x')``.
        a: First corner.
        b: Second corner.
        c: Third corner.

    Raises:
        GeometryError: The corners are collinear or do not have 2 coordinates.
    """

    def __init__(self, space: Space, a: object, b: object, c: object) -> None:
        require_dim("Triangle", space, 2)
        self.space = space
        self.a = as_vector(a, "a", space)
        self.b = as_vector(b, "b", space)
        self.c = as_vector(c, "c", space)
        ab, ac = self.b - self.a, self.c - self.a
        twice_area = float(ab[0] * ac[1] - ab[1] * ac[0])
        if abs(twice_area) <= 1e-10 * float(ab.norm() * ac.norm()):
            raise GeometryError(
                f"Triangle corners {self.a.tolist()}, {self.b.tolist()}, {self.c.tolist()} are "
                "collinear; give three corners that span an area."
            )
        self._area = 0.5 * abs(twice_area)
        corners = [self.a, self.b, self.c] if twice_area > 0 else [self.a, self.c, self.b]
        self._ccw = torch.stack(corners)  # counter-clockwise vertices
        edges = torch.roll(self._ccw, -1, dims=0) - self._ccw
        normals = torch.stack([edges[:, 1], -edges[:, 0]], dim=1)
        self._normals = normals / normals.norm(dim=1, keepdim=True)
        self._offsets = (self._normals * self._ccw).sum(dim=1)
        lower, upper = self.bounding_box()
        self.tolerance = tolerance_for(lower, upper)
        self._boundary: PiecewiseBoundary | None = None

    @property
    def volume(self) -> float:
        return self._area

    def bounding_box(self) -> BoundingBox:
        corners = torch.stack([self.a, self.b, self.c])
        return corners.min(dim=0).values, corners.max(dim=0).values

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        outside = x @ self._normals.T - self._offsets  # signed distance past each edge
        return (outside <= self.tolerance).all(dim=1)

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        return triangle_from_unit(self.a, self.b, self.c, as_unit(u, 2))

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.from_unit(torch.rand(n, 2, generator=generator, dtype=DTYPE))

    @property
    def boundary(self) -> PiecewiseBoundary:
        if self._boundary is None:
            self._boundary = polygon_boundary(self.space, self._ccw, self.tolerance)
        return self._boundary

    def __repr__(self) -> str:
        return f"Triangle({self.space!r}, {self.a.tolist()}, {self.b.tolist()}, {self.c.tolist()})"
