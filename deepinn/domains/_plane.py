"""Plane geometry helpers: orientation, simplicity checks, ear clipping, triangle maps."""

from __future__ import annotations

import torch

from deepinn._errors import GeometryError
from deepinn.domains._boundary import PiecewiseBoundary
from deepinn.domains._coerce import DTYPE
from deepinn.domains._pieces import FlatPiece
from deepinn.spaces import Space

__all__ = [
    "check_simple",
    "cross",
    "ear_clip",
    "polygon_boundary",
    "signed_area",
    "triangle_from_unit",
]

Point2 = tuple[float, float]


def cross(o: Point2, a: Point2, b: Point2) -> float:
    """The z-component of ``(a - o) x (b - o)``: > 0 for a left turn."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def signed_area(vertices: list[Point2]) -> float:
    """Shoelace area: positive for counter-clockwise vertices."""
    total = 0.0
    for i, (x0, y0) in enumerate(vertices):
        x1, y1 = vertices[(i + 1) % len(vertices)]
        total += x0 * y1 - x1 * y0
    return 0.5 * total


def _on_segment(p: Point2, a: Point2, b: Point2, eps: float) -> bool:
    return (
        min(a[0], b[0]) - eps <= p[0] <= max(a[0], b[0]) + eps
        and min(a[1], b[1]) - eps <= p[1] <= max(a[1], b[1]) + eps
    )


def _segments_touch(a: Point2, b: Point2, c: Point2, d: Point2, eps: float) -> bool:
    """Whether closed segments ab and cd share a point (``eps``: area tolerance)."""
    d1, d2 = cross(c, d, a), cross(c, d, b)
    d3, d4 = cross(a, b, c), cross(a, b, d)
    if ((d1 > eps and d2 < -eps) or (d1 < -eps and d2 > eps)) and (
        (d3 > eps and d4 < -eps) or (d3 < -eps and d4 > eps)
    ):
        return True
    length_eps = eps**0.5
    return (
        (abs(d1) <= eps and _on_segment(a, c, d, length_eps))
        or (abs(d2) <= eps and _on_segment(b, c, d, length_eps))
        or (abs(d3) <= eps and _on_segment(c, a, b, length_eps))
        or (abs(d4) <= eps and _on_segment(d, a, b, length_eps))
    )


def check_simple(vertices: list[Point2], scale: float) -> None:
    """Raise unless the closed polyline through ``vertices`` is a simple polygon.

    Raises:
        GeometryError: Fewer than 3 vertices, a zero-length edge, an edge that folds back on
            its neighbour, two edges that cross or touch, or zero area.
    """
    m = len(vertices)
    if m < 3:
        raise GeometryError(
            f"A polygon needs at least 3 vertices; got {m}: {vertices}. Add vertices."
        )
    eps = 1e-12 * scale**2  # area tolerance: (1e-6 scale)^2
    for i in range(m):
        a, b = vertices[i], vertices[(i + 1) % m]
        if a == b or (abs(a[0] - b[0]) + abs(a[1] - b[1])) <= 1e-12 * scale:
            raise GeometryError(
                f"Polygon vertices {i} and {(i + 1) % m} coincide ({a}); remove the duplicate."
            )
    for i in range(m):
        a, b, c = vertices[i - 1], vertices[i], vertices[(i + 1) % m]
        turn = cross(a, b, c)
        dot = (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1])
        if abs(turn) <= eps and dot < 0:
            raise GeometryError(
                f"Polygon is self-intersecting: the edges at vertex {i} ({b}) fold back onto "
                "each other. Remove the spike."
            )
    for i in range(m):
        a, b = vertices[i], vertices[(i + 1) % m]
        for j in range(i + 2, m):
            if i == 0 and j == m - 1:
                continue  # adjacent through the closing edge
            c, d = vertices[j], vertices[(j + 1) % m]
            if _segments_touch(a, b, c, d, eps):
                raise GeometryError(
                    f"Polygon is self-intersecting: edge {i} {a}->{b} meets edge {j} "
                    f"{c}->{d}. Give the vertices of a simple polygon in boundary order."
                )
    if abs(signed_area(vertices)) <= eps:
        raise GeometryError(f"Polygon {vertices} has zero area; its vertices are collinear.")


def _in_triangle(p: Point2, a: Point2, b: Point2, c: Point2, eps: float) -> bool:
    return cross(a, b, p) >= -eps and cross(b, c, p) >= -eps and cross(c, a, p) >= -eps


def ear_clip(vertices: list[Point2], scale: float) -> list[tuple[int, int, int]]:
    """Triangulate a simple counter-clockwise polygon by ear clipping.

    Returns:
        Index triples of counter-clockwise triangles covering the polygon.

    Raises:
        GeometryError: No ear was found (the polygon is not simple).
    """
    eps = 1e-12 * scale**2
    remaining = list(range(len(vertices)))
    triangles: list[tuple[int, int, int]] = []
    while len(remaining) > 3:
        count = len(remaining)
        for k in range(count):
            i, j, h = remaining[k - 1], remaining[k], remaining[(k + 1) % count]
            a, b, c = vertices[i], vertices[j], vertices[h]
            if cross(a, b, c) <= eps:
                continue  # reflex or flat corner: not an ear
            others = (vertices[m] for m in remaining if m not in (i, j, h))
            if any(_in_triangle(p, a, b, c, eps) for p in others):
                continue
            triangles.append((i, j, h))
            remaining.pop(k)
            break
        else:
            flat = [
                k
                for k in range(count)
                if abs(
                    cross(
                        vertices[remaining[k - 1]],
                        vertices[remaining[k]],
                        vertices[remaining[(k + 1) % count]],
                    )
                )
                <= eps
            ]
            if not flat:
                raise GeometryError(f"Could not triangulate polygon {vertices}: it is not simple.")
            remaining.pop(flat[0])  # a vertex on a straight edge adds no area
    if abs(cross(*(vertices[m] for m in remaining))) > eps:
        triangles.append((remaining[0], remaining[1], remaining[2]))
    return triangles


def triangle_from_unit(
    a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    """Map u in [0,1]^2 uniformly onto triangles ``(a, b, c)`` by reflection.

    ``a``, ``b``, ``c`` are (d,) or (N, d) tensors; ``u`` is (N, 2). Points with
    ``u0 + u1 > 1`` are reflected to ``(1 - u0, 1 - u1)``, a measure-preserving fold.
    """
    u = u.to(DTYPE)
    flip = u.sum(dim=1, keepdim=True) > 1.0
    u = torch.where(flip, 1.0 - u, u)
    return a + u[:, :1] * (b - a) + u[:, 1:2] * (c - a)


def polygon_boundary(space: Space, vertices: torch.Tensor, tolerance: float) -> PiecewiseBoundary:
    """The edges of a counter-clockwise polygon, in order, with outward normals."""
    pieces = []
    count = vertices.shape[0]
    for i in range(count):
        start, end = vertices[i], vertices[(i + 1) % count]
        edge = end - start
        normal = torch.stack([edge[1], -edge[0]])  # right of a ccw edge: outward
        pieces.append(FlatPiece(space, start, edge.unsqueeze(0), normal, tolerance))
    return PiecewiseBoundary(space, pieces)
