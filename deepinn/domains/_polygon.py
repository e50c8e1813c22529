"""Polygon: a simple (possibly non-convex) polygon in a 2-D space."""

from __future__ import annotations

import numpy as np
import torch

from deepinn._errors import GeometryError
from deepinn.domains._abstract import AbstractDomain, BoundingBox
from deepinn.domains._boundary import PiecewiseBoundary
from deepinn.domains._coerce import DTYPE, as_points, as_unit, require_dim
from deepinn.domains._plane import (
    check_simple,
    ear_clip,
    polygon_boundary,
    signed_area,
    triangle_from_unit,
)
from deepinn.domains._tolerance import tolerance_for
from deepinn.spaces import Points, Space

__all__ = ["Polygon"]


def _vertex_list(vertices: object, space: Space) -> list[tuple[float, float]]:
    if isinstance(vertices, Points):
        vertices = vertices.as_tensor
    if isinstance(vertices, torch.Tensor):
        vertices = vertices.detach().cpu().numpy()
    try:
        array = np.asarray(vertices, dtype=np.float64)
    except (TypeError, ValueError):
        raise GeometryError(
            f"Polygon vertices must be a list of [x, y] pairs; got {vertices!r}."
        ) from None
    if array.ndim != 2 or array.shape[1] != space.dim:
        raise GeometryError(
            f"Polygon vertices must have shape (m, {space.dim}) for space {space!r}; got "
            f"{array.shape}. Give one [x, y] pair per vertex."
        )
    if not np.isfinite(array).all():
        raise GeometryError(f"Polygon vertices must be finite; got {array.tolist()}.")
    return [(float(x), float(y)) for x, y in array]


class Polygon(AbstractDomain):
    """The closed region bounded by a simple polygon; non-convex allowed, either orientation.

    Exact area (shoelace). The polygon is triangulated by ear clipping; ``from_unit`` picks a
    triangle by area with the first coordinate and folds the square onto it.

    Args:
        space: A 2-D space, e.g. ``R2('x')``.
        vertices: The corners in boundary order, (m, 2) with m >= 3; do not repeat the first.

    Raises:
        GeometryError: Fewer than 3 vertices, duplicate vertices, self-intersection, zero area.
    """

    def __init__(self, space: Space, vertices: object) -> None:
        require_dim("Polygon", space, 2)
        self.space = space
        points = _vertex_list(vertices, space)
        scale = max(max(abs(c) for p in points for c in p), 1e-300) if points else 1.0
        check_simple(points, scale)
        if signed_area(points) < 0:
            points = points[::-1]
        self.vertices = torch.tensor(points, dtype=DTYPE)  # counter-clockwise
        self._area = abs(signed_area(points))
        triangles = ear_clip(points, scale)
        self._triangles = self.vertices[torch.tensor(triangles, dtype=torch.long)]  # (T, 3, 2)
        a, b, c = self._triangles.unbind(dim=1)
        ab, ac = b - a, c - a
        areas = 0.5 * (ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]).abs()
        self._cumulative = torch.cumsum(areas / areas.sum(), dim=0)
        self._weights = areas / areas.sum()
        lower, upper = self.bounding_box()
        self.tolerance = tolerance_for(lower, upper)
        self._boundary = polygon_boundary(self.space, self.vertices, self.tolerance)

    @property
    def volume(self) -> float:
        return self._area

    def bounding_box(self) -> BoundingBox:
        return self.vertices.min(dim=0).values, self.vertices.max(dim=0).values

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        px, py = x[:, :1], x[:, 1:]
        start = self.vertices
        end = torch.roll(self.vertices, -1, dims=0)
        x0, y0, x1, y1 = start[:, 0], start[:, 1], end[:, 0], end[:, 1]
        straddles = (y0 > py) != (y1 > py)  # (N, m)
        dy = torch.where(y1 == y0, torch.ones_like(y1), y1 - y0)
        crossing_x = x0 + (py - y0) * (x1 - x0) / dy
        crossings = (straddles & (px < crossing_x)).sum(dim=1)
        inside = crossings % 2 == 1
        outside = ~inside
        if bool(outside.any()):  # closed set: add the points on the edges
            inside[outside] = self._boundary.contains(x[outside])
        return inside

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        u = as_unit(u, 2)
        index = torch.searchsorted(self._cumulative, u[:, 0].contiguous(), right=True)
        index = index.clamp(max=len(self._weights) - 1)
        start = self._cumulative[index] - self._weights[index]
        v = ((u[:, 0] - start) / self._weights[index]).clamp(0.0, 1.0)
        a, b, c = self._triangles[index].unbind(dim=1)
        return triangle_from_unit(a, b, c, torch.stack([v, u[:, 1]], dim=1))

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.from_unit(torch.rand(n, 2, generator=generator, dtype=DTYPE))

    @property
    def boundary(self) -> PiecewiseBoundary:
        return self._boundary

    def __repr__(self) -> str:
        return f"Polygon({self.space!r}, {self.vertices.tolist()})"
