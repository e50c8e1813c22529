"""Boundary pieces: flat faces (points, segments, parallelograms) and sphere surfaces.

A piece is a boundary with a ``distance`` to it, so ``contains`` is "within tolerance" and a
boundary made of pieces gives each point the normal of its nearest piece.
"""

from __future__ import annotations

import abc
import math

import torch

from deepinn.domains._abstract import AbstractBoundary, BoundingBox
from deepinn.domains._coerce import DTYPE, as_points, as_unit
from deepinn.spaces import Points, Space

__all__ = ["AbstractPiece", "FlatPiece", "SphereSurface", "unit_corners"]


class AbstractPiece(AbstractBoundary):
    """A boundary piece that knows the (approximate) distance of a point to itself."""

    tolerance: float
    supports_distance = True

    @abc.abstractmethod
    def distance(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Unsigned distance (N,) from each point to the piece (exact or an upper bound)."""

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        return self.distance(points) <= self.tolerance

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        u = torch.rand(n, self.intrinsic_dim, generator=generator, dtype=DTYPE)
        return self.from_unit(u)


class FlatPiece(AbstractPiece):
    """The parallelotope ``origin + sum_i u_i edges[i]``, u in [0,1]^k, with a fixed normal.

    With k = 0 edges it is a point (counting measure 1), with k = 1 a segment, with k = 2 a
    parallelogram. ``k`` must be ``space.dim - 1``.
    """

    def __init__(
        self,
        space: Space,
        origin: torch.Tensor,
        edges: torch.Tensor,
        normal: torch.Tensor,
        tolerance: float,
    ) -> None:
        self.space = space
        self.origin = origin.to(DTYPE)
        self.edges = edges.to(DTYPE).reshape(-1, space.dim)
        self._normal = normal.to(DTYPE) / normal.to(DTYPE).norm()
        self.tolerance = tolerance
        gram = self.edges @ self.edges.T
        self._gram_inverse = torch.linalg.inv(gram) if self.edges.shape[0] else gram
        self._box: BoundingBox | None = None

    @property
    def volume(self) -> float:
        if self.edges.shape[0] == 0:
            return 1.0
        return float(torch.linalg.det(self.edges @ self.edges.T).clamp_min(0.0).sqrt())

    def bounding_box(self) -> BoundingBox:
        if self._box is None:
            corners = self.from_unit(unit_corners(self.edges.shape[0]))
            self._box = (corners.min(dim=0).values, corners.max(dim=0).values)
        return self._box[0].clone(), self._box[1].clone()

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        u = as_unit(u, self.edges.shape[0])
        return self.origin + u @ self.edges

    def distance(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space) - self.origin
        if self.edges.shape[0] == 0:
            return x.norm(dim=1)
        coords = (x @ self.edges.T) @ self._gram_inverse
        nearest = coords.clamp(0.0, 1.0) @ self.edges
        return (x - nearest).norm(dim=1)

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        n = as_points(points, self.space).shape[0]
        return self._normal.expand(n, -1).clone()

    def __repr__(self) -> str:
        return f"FlatPiece(origin={self.origin.tolist()}, edges={self.edges.tolist()})"


class SphereSurface(AbstractPiece):
    """The circle (2-D) or sphere surface (3-D) of ``center`` and ``radius``; normals radial."""

    def __init__(self, space: Space, center: torch.Tensor, radius: float, tolerance: float) -> None:
        self.space = space
        self.center = center.to(DTYPE)
        self.radius = float(radius)
        self.tolerance = tolerance

    @property
    def volume(self) -> float:
        if self.dim == 2:
            return 2.0 * math.pi * self.radius
        return 4.0 * math.pi * self.radius**2

    def bounding_box(self) -> BoundingBox:
        return self.center - self.radius, self.center + self.radius

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """Angle (circle) or Archimedes' height-and-angle map (sphere): uniform on the surface."""
        u = as_unit(u, self.dim - 1)
        if self.dim == 2:
            angle = 2.0 * math.pi * u[:, 0]
            unit = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
        else:
            z = 1.0 - 2.0 * u[:, 0]
            rho = (1.0 - z * z).clamp_min(0.0).sqrt()
            phi = 2.0 * math.pi * u[:, 1]
            unit = torch.stack([rho * torch.cos(phi), rho * torch.sin(phi), z], dim=1)
        return self.center + self.radius * unit

    def distance(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        return ((x - self.center).norm(dim=1) - self.radius).abs()

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        offset = as_points(points, self.space) - self.center
        length = offset.norm(dim=1, keepdim=True)
        fallback = torch.zeros_like(offset)
        fallback[:, 0] = 1.0  # the center has no direction: any unit vector
        return torch.where(length > 0, offset / length.clamp_min(1e-300), fallback)

    def __repr__(self) -> str:
        return f"SphereSurface(center={self.center.tolist()}, radius={self.radius})"


def unit_corners(k: int) -> torch.Tensor:
    """The 2^k corners of [0, 1]^k, (2^k, k)."""
    if k == 0:
        return torch.zeros(1, 0, dtype=DTYPE)
    grids = torch.meshgrid(*[torch.tensor([0.0, 1.0], dtype=DTYPE)] * k, indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=1)
