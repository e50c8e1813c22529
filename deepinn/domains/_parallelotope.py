"""Parallelotopes: Interval (1-D), Parallelogram (2-D) and Box (3-D), any orientation."""

from __future__ import annotations

import torch

from deepinn._errors import GeometryError
from deepinn.domains._abstract import AbstractDomain, BoundingBox
from deepinn.domains._boundary import PiecewiseBoundary
from deepinn.domains._coerce import DTYPE, as_points, as_scalar, as_unit, as_vector, require_dim
from deepinn.domains._pieces import FlatPiece, unit_corners
from deepinn.domains._tolerance import tolerance_for
from deepinn.spaces import Points, Space

__all__ = ["Box", "Interval", "Parallelogram", "Parallelotope"]

_DEGENERATE = {1: "has zero length", 2: "are collinear", 3: "are coplanar"}


class Parallelotope(AbstractDomain):
    """The set ``origin + sum_i u_i edges[i]`` for u in [0, 1]^d (d edges in a d-D space).

    Exact volume ``|det(edges)|``; ``from_unit`` is the affine map, so grids and quasi-random
    points fill it exactly. The boundary is made of the 2d faces with outward normals.
    """

    def __init__(self, space: Space, origin: torch.Tensor, edges: torch.Tensor) -> None:
        self.space = space
        self.origin = origin.to(DTYPE)
        self.edges = edges.to(DTYPE).reshape(space.dim, space.dim)
        lengths = self.edges.norm(dim=1)
        det = float(torch.linalg.det(self.edges))
        if abs(det) <= 1e-10 * float(lengths.prod()) or float(lengths.min()) == 0.0:
            given = [self.origin.tolist()] + [(self.origin + e).tolist() for e in self.edges]
            problem = _DEGENERATE.get(space.dim, "are degenerate")
            raise GeometryError(
                f"{type(self).__name__} corners {given} {problem}; the edges from the origin "
                "to the corners must be linearly independent."
            )
        self._inverse = torch.linalg.inv(self.edges)  # coords = (x - origin) @ inverse
        self._gradient_norms = self._inverse.norm(dim=0)  # |d coord_i / dx|
        self._volume = abs(det)
        corners = self.vertices()
        self._box = (corners.min(dim=0).values, corners.max(dim=0).values)
        lower, upper = self.bounding_box()
        self.tolerance = tolerance_for(lower, upper)
        self._boundary: PiecewiseBoundary | None = None

    @property
    def volume(self) -> float:
        return self._volume

    def vertices(self) -> torch.Tensor:
        """The 2^d corners, (2^d, d)."""
        return self.from_unit(unit_corners(self.dim))

    def bounding_box(self) -> BoundingBox:
        return self._box[0].clone(), self._box[1].clone()

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        coords = (as_points(points, self.space) - self.origin) @ self._inverse
        below = -coords / self._gradient_norms  # distance outside the face coord_i = 0
        above = (coords - 1.0) / self._gradient_norms
        return (torch.maximum(below, above) <= self.tolerance).all(dim=1)

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        u = as_unit(u, self.dim)
        return self.origin + u @ self.edges

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.from_unit(torch.rand(n, self.dim, generator=generator, dtype=DTYPE))

    @property
    def boundary(self) -> PiecewiseBoundary:
        if self._boundary is None:
            faces = []
            for i in range(self.dim):
                others = torch.cat([self.edges[:i], self.edges[i + 1 :]])
                gradient = self._inverse[:, i]
                for side in (0.0, 1.0):
                    origin = self.origin + side * self.edges[i]
                    normal = gradient if side else -gradient
                    faces.append(FlatPiece(self.space, origin, others, normal, self.tolerance))
            self._boundary = PiecewiseBoundary(self.space, faces)
        return self._boundary


class Interval(Parallelotope):
    """The closed interval ``[lower, upper]`` of a 1-D space (its boundary: the two ends).

    The boundary's measure is the counting measure (``interval.boundary.volume == 2``); its
    normals are -1 at ``lower`` and +1 at ``upper``.

    Args:
        space: A 1-D space, e.g. ``R1('t')``.
        lower: The left end.
        upper: The right end, greater than ``lower``.

    Raises:
        GeometryError: ``lower >= upper``, or the space is not 1-D.
    """

    def __init__(self, space: Space, lower: float, upper: float) -> None:
        require_dim("Interval", space, 1)
        self.lower = as_scalar(lower, "Interval lower")
        self.upper = as_scalar(upper, "Interval upper")
        if self.lower >= self.upper:
            raise GeometryError(
                f"Interval lower {self.lower} must be smaller than upper {self.upper}; "
                "swap them or widen the interval."
            )
        origin = torch.tensor([self.lower], dtype=DTYPE)
        super().__init__(space, origin, torch.tensor([[self.upper - self.lower]], dtype=DTYPE))

    def __repr__(self) -> str:
        return f"Interval({self.space!r}, {self.lower}, {self.upper})"


class Parallelogram(Parallelotope):
    """The parallelogram with corners ``origin``, ``corner1``, ``corner2`` and ``corner1 +
    corner2 - origin`` in a 2-D space, in any orientation.

    Args:
        space: A 2-D space, e.g. ``R2('x')``.
        origin: One corner.
        corner1: The corner at the end of the first edge from ``origin``.
        corner2: The corner at the end of the second edge from ``origin``.

    Raises:
        GeometryError: The corners are collinear or do not have 2 coordinates.
    """

    def __init__(self, space: Space, origin: object, corner1: object, corner2: object) -> None:
        require_dim("Parallelogram", space, 2)
        o = as_vector(origin, "origin", space)
        c1 = as_vector(corner1, "corner1", space)
        c2 = as_vector(corner2, "corner2", space)
        super().__init__(space, o, torch.stack([c1 - o, c2 - o]))

    @classmethod
    def axis_aligned(cls, space: Space, lower: object, upper: object) -> Parallelogram:
        """The rectangle ``[lower_0, upper_0] x [lower_1, upper_1]``.

        Raises:
            GeometryError: ``lower_i >= upper_i`` for some axis.
        """
        require_dim("Parallelogram", space, 2)
        lo, hi = _axis_bounds(space, lower, upper)
        return cls(space, lo, [hi[0], lo[1]], [lo[0], hi[1]])

    def __repr__(self) -> str:
        corners = [self.origin.tolist()] + [(self.origin + e).tolist() for e in self.edges]
        return f"Parallelogram({self.space!r}, {', '.join(map(str, corners))})"


class Box(Parallelotope):
    """The parallelepiped spanned from ``origin`` to three corners in a 3-D space.

    Args:
        space: A 3-D space, e.g. ``R3('x')``.
        origin: One corner.
        corner1: End of the first edge from ``origin``.
        corner2: End of the second edge from ``origin``.
        corner3: End of the third edge from ``origin``.

    Raises:
        GeometryError: The corners are coplanar or do not have 3 coordinates.
    """

    def __init__(
        self, space: Space, origin: object, corner1: object, corner2: object, corner3: object
    ) -> None:
        require_dim("Box", space, 3)
        o = as_vector(origin, "origin", space)
        corners = [
            as_vector(c, f"corner{i + 1}", space) for i, c in enumerate([corner1, corner2, corner3])
        ]
        super().__init__(space, o, torch.stack([c - o for c in corners]))

    @classmethod
    def axis_aligned(cls, space: Space, lower: object, upper: object) -> Box:
        """The axis-aligned box ``[lower_0, upper_0] x [lower_1, upper_1] x [lower_2, upper_2]``.

        Raises:
            GeometryError: ``lower_i >= upper_i`` for some axis.
        """
        require_dim("Box", space, 3)
        lo, hi = _axis_bounds(space, lower, upper)
        corners = []
        for axis in range(3):
            corner = list(lo)
            corner[axis] = hi[axis]
            corners.append(corner)
        return cls(space, lo, *corners)

    def __repr__(self) -> str:
        corners = [self.origin.tolist()] + [(self.origin + e).tolist() for e in self.edges]
        return f"Box({self.space!r}, {', '.join(map(str, corners))})"


def _axis_bounds(space: Space, lower: object, upper: object) -> tuple[list[float], list[float]]:
    lo = as_vector(lower, "lower", space).tolist()
    hi = as_vector(upper, "upper", space).tolist()
    for axis, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if a >= b:
            raise GeometryError(
                f"lower[{axis}] = {a} must be smaller than upper[{axis}] = {b}; swap them."
            )
    return lo, hi
