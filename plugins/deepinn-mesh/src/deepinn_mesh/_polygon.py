"""A polygon with holes as a deepinn domain (through shapely)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import numpy as np
import shapely
import torch
from deepinn import GeometryError
from deepinn.domains import AbstractBoundary, AbstractDomain, BoundingBox
from deepinn.spaces import R2, Points
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from deepinn_mesh._points import check_n, to_numpy, to_tensor

__all__ = ["PolygonBoundary", "PolygonWithHoles", "as_ring"]

_CHUNK = 4096  # points per block when finding the nearest boundary segment


def as_ring(value: Any, what: str) -> list[tuple[float, float]]:
    """Check that ``value`` is a list of at least three (x, y) pairs; return them as floats.

    Args:
        value: The vertices, e.g. ``[[0, 0], [1, 0], [1, 1]]``.
        what: How to name the ring in an error (``"shell"``, ``"hole 0"``).

    Raises:
        GeometryError: Not a list of at least three pairs of finite numbers.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.zeros((0,))
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 3 or not np.isfinite(array).all():
        raise GeometryError(
            f"The {what} must be a list of at least 3 [x, y] vertices of finite numbers; got "
            f"{value!r}. Example: [[0, 0], [1, 0], [1, 1], [0, 1]]."
        )
    return [(float(x), float(y)) for x, y in array]


@final
class PolygonWithHoles(AbstractDomain):
    """A polygon in R^2 with polygonal holes: the shell's inside minus every hole's inside.

    The rings may be given in either orientation and need not repeat their first vertex. The
    boundary is every ring; its outward normals point out of the domain, so on a hole's ring
    they point into the hole.

    Args:
        shell: The outer ring's vertices, ``[[x, y], ...]``.
        holes: One vertex list per hole; each hole must lie inside the shell, and holes must
            not overlap.
        variable: Name of the two-dimensional variable of the space, ``R2(variable)``.
        tolerance: Distance within which a point counts as on the boundary; default ``1e-9``
            times the bounding box diagonal.

    Raises:
        GeometryError: A ring is malformed, or the polygon is invalid (self-intersecting, a
            hole outside the shell, overlapping holes) or has no area.
    """

    def __init__(
        self,
        shell: Sequence[Sequence[float]],
        holes: Sequence[Sequence[Sequence[float]]] = (),
        variable: str = "x",
        *,
        tolerance: float | None = None,
    ) -> None:
        rings = [as_ring(hole, f"hole {index}") for index, hole in enumerate(holes)]
        polygon = Polygon(as_ring(shell, "shell"), rings)
        if not polygon.is_valid:
            raise GeometryError(
                f"The polygon is not valid: {explain_validity(polygon)}. The shell must not "
                "cross itself, and holes must lie inside it without overlapping each other."
            )
        if not polygon.area > 0:
            raise GeometryError(f"The polygon has no area (area {polygon.area!r}).")
        self._polygon = orient(polygon, sign=1.0)  # shell counter-clockwise, holes clockwise
        self.space = R2(variable)
        lower, upper = self.bounding_box()
        scale = float(torch.linalg.norm(upper - lower))
        self.tolerance = 1e-9 * scale if tolerance is None else float(tolerance)
        triangles = shapely.constrained_delaunay_triangles(self._polygon).geoms
        self._triangles = np.array([np.asarray(t.exterior.coords)[:3] for t in triangles])
        self._triangle_areas = np.array([t.area for t in triangles])
        self._boundary = PolygonBoundary(self)

    @property
    def polygon(self) -> Polygon:
        """The shapely polygon (shell counter-clockwise, holes clockwise)."""
        return self._polygon

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Which points lie in the closed polygon (within ``tolerance`` of it)."""
        array = to_numpy(points, self.space)
        inside = shapely.contains_xy(self._polygon, array[:, 0], array[:, 1])
        rest = ~inside
        if rest.any():
            near = shapely.dwithin(self._polygon, shapely.points(array[rest]), self.tolerance)
            inside[rest] = near
        return torch.from_numpy(np.asarray(inside, dtype=bool))

    @property
    def volume(self) -> float:
        """The area (shell minus holes)."""
        return float(self._polygon.area)

    def bounding_box(self) -> BoundingBox:
        """The shell's axis-aligned bounds."""
        x0, y0, x1, y1 = self._polygon.bounds
        return to_tensor(np.array([x0, y0])), to_tensor(np.array([x1, y1]))

    @property
    def boundary(self) -> PolygonBoundary:
        """Every ring, with normals pointing out of the domain."""
        return self._boundary

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points uniform in the polygon: a triangle of its triangulation by area, then a
        uniform point in that triangle (no rejection)."""
        check_n(n)
        if n == 0:
            return torch.zeros(0, 2, dtype=torch.float64)
        areas = torch.tensor(self._triangle_areas, dtype=torch.float64)
        index = torch.multinomial(areas, n, replacement=True, generator=generator).numpy()
        r = torch.rand(n, 2, generator=generator, dtype=torch.float64).numpy()
        root = np.sqrt(r[:, :1])
        weights = np.hstack([1.0 - root, root * (1.0 - r[:, 1:]), root * r[:, 1:]])
        return to_tensor(np.einsum("nc,ncd->nd", weights, self._triangles[index]))

    def __repr__(self) -> str:
        return (
            f"PolygonWithHoles({len(self._polygon.exterior.coords) - 1} shell vertices, "
            f"{len(self._polygon.interiors)} holes, area {self.volume:.6g}, {self.space!r})"
        )


@final
class PolygonBoundary(AbstractBoundary):
    """Every ring of a :class:`PolygonWithHoles`, sampled by length, with outward normals."""

    def __init__(self, domain: PolygonWithHoles) -> None:
        polygon = domain.polygon
        self.space = domain.space
        self.tolerance = domain.tolerance
        self._lines = polygon.boundary
        self._bounds = domain.bounding_box()
        starts, ends = [], []
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = np.asarray(ring.coords)
            starts.append(coords[:-1])
            ends.append(coords[1:])
        self._starts = np.concatenate(starts)
        self._edges = np.concatenate(ends) - self._starts
        self._lengths = np.linalg.norm(self._edges, axis=1)
        # The domain is on the left of every oriented ring, so outward is to the right.
        right = np.stack([self._edges[:, 1], -self._edges[:, 0]], axis=1)
        self._normals = right / self._lengths[:, None]

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Which points lie within ``tolerance`` of a ring."""
        array = to_numpy(points, self.space)
        near = shapely.dwithin(self._lines, shapely.points(array), self.tolerance)
        return torch.from_numpy(np.asarray(near, dtype=bool).reshape(len(array)))

    @property
    def volume(self) -> float:
        """The total length of every ring."""
        return float(self._lengths.sum())

    def bounding_box(self) -> BoundingBox:
        """The shell's axis-aligned bounds."""
        return self._bounds[0].clone(), self._bounds[1].clone()

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points uniform along the rings: a segment by length, then a uniform point."""
        check_n(n)
        if n == 0:
            return torch.zeros(0, 2, dtype=torch.float64)
        lengths = torch.tensor(self._lengths, dtype=torch.float64)
        index = torch.multinomial(lengths, n, replacement=True, generator=generator).numpy()
        t = torch.rand(n, 1, generator=generator, dtype=torch.float64).numpy()
        return to_tensor(self._starts[index] + t * self._edges[index])

    def _nearest_segment(self, array: np.ndarray) -> np.ndarray:
        nearest = np.empty(len(array), dtype=np.int64)
        squared = self._lengths**2
        for start in range(0, len(array), _CHUNK):
            block = array[start : start + _CHUNK, None, :] - self._starts[None]  # (B, S, 2)
            t = np.clip(np.einsum("bsd,sd->bs", block, self._edges) / squared, 0.0, 1.0)
            offset = block - t[..., None] * self._edges[None]
            nearest[start : start + _CHUNK] = np.argmin(np.einsum("bsd,bsd->bs", offset, offset), 1)
        return nearest

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Outward unit normals: the normal of the ring segment nearest each point."""
        array = to_numpy(points, self.space)
        return to_tensor(self._normals[self._nearest_segment(array)])

    def __repr__(self) -> str:
        return f"PolygonBoundary({len(self._lengths)} segments, length {self.volume:.6g})"
