"""TEMPLATE (domain): the ``annulus`` domain, a ring between two concentric circles in R2.

A domain is a subclass of ``deepinn.domains.AbstractDomain``; its boundary a subclass of
``deepinn.domains.AbstractBoundary`` with outward unit normals. Samplers, constraints and the
training loop use a domain only through this interface:

- ``contains(points)``: a bool (N,) mask, for the closed set, with a small tolerance;
- ``volume``: the measure (area here; length for the boundary);
- ``bounding_box()``: ``(lower, upper)``, two float64 (dim,) tensors;
- ``boundary``: the boundary, itself a domain, with ``normal(points)``;
- ``sample_uniform(n, generator)``: exactly ``n`` float64 points, uniform in the measure,
  drawn only from ``generator`` (reproducible runs);
- ``from_unit(u)`` (optional): a measure-preserving map from [0, 1]^intrinsic_dim, which grid,
  quasi-random and stratified samplers use (without it they fall back to rejection).

Compute in float64 and accept both tensors and ``deepinn.spaces.Points``. The schema
(``AnnulusParams``) is the Hydra structured config of ``domain=annulus``; the factory
(``build_annulus``) turns a validated schema instance into the domain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from deepinn import GeometryError, ShapeError
from deepinn.domains import AbstractBoundary, AbstractDomain, BoundingBox
from deepinn.spaces import Points, Rn, Space

__all__ = ["Annulus", "AnnulusBoundary", "AnnulusParams", "build_annulus"]

DTYPE = torch.float64
RELATIVE_TOLERANCE = 1e-6


def _as_points(points: torch.Tensor | Points, space: Space) -> torch.Tensor:
    """An (N, 2) float64 tensor from a tensor or ``Points`` (with a clear error otherwise)."""
    tensor = points.as_tensor if isinstance(points, Points) else torch.as_tensor(points)
    if tensor.dim() != 2 or tensor.shape[1] != space.dim:
        raise ShapeError(
            f"An annulus of {space!r} needs points of shape (N, {space.dim}); got "
            f"{tuple(tensor.shape)}."
        )
    return tensor.detach().to(DTYPE)


def _as_unit(u: torch.Tensor, k: int) -> torch.Tensor:
    """Points of [0, 1]^k as a float64 (N, k) tensor."""
    u = torch.as_tensor(u).detach().to(DTYPE)
    if u.dim() == 1 and k == 1:
        u = u.unsqueeze(1)
    if u.dim() != 2 or u.shape[1] != k:
        raise ShapeError(
            f"from_unit needs points of [0, 1]^{k}, shape (N, {k}); got {tuple(u.shape)}."
        )
    return u


def _on_circle(center: torch.Tensor, radius: float, angle: torch.Tensor) -> torch.Tensor:
    return center + radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


class Annulus(AbstractDomain):
    """The closed ring ``inner <= |x - center| <= outer`` in a 2-D space.

    Args:
        space: A 2-D space, e.g. ``R2('x')``.
        center: The common center, two numbers.
        inner: The inner radius, > 0.
        outer: The outer radius, > inner.

    Raises:
        GeometryError: The space is not 2-D, the center has not two numbers, or the radii do
            not satisfy ``0 < inner < outer``.
    """

    def __init__(
        self, space: Space, center: object = (0.0, 0.0), inner: float = 0.5, outer: float = 1.0
    ) -> None:
        if space.dim != 2:
            raise GeometryError(
                f"An annulus lives in a 2-D space; {space!r} has dimension {space.dim}."
            )
        center_tensor = torch.as_tensor(center, dtype=DTYPE).reshape(-1)
        if center_tensor.shape != (2,):
            raise GeometryError(f"Annulus center must have 2 numbers; got {center!r}.")
        inner, outer = float(inner), float(outer)
        if not 0.0 < inner < outer < math.inf:
            raise GeometryError(
                f"Annulus radii must satisfy 0 < inner < outer; got inner={inner}, outer={outer}."
            )
        self.space = space
        self.center = center_tensor
        self.inner = inner
        self.outer = outer
        self.tolerance = RELATIVE_TOLERANCE * max(outer + float(center_tensor.abs().max()), 1e-12)
        self._boundary = AnnulusBoundary(self)

    # -- the interface every domain implements ------------------------------------------------

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        r = (_as_points(points, self.space) - self.center).norm(dim=1)
        return (r >= self.inner - self.tolerance) & (r <= self.outer + self.tolerance)

    @property
    def volume(self) -> float:
        return math.pi * (self.outer**2 - self.inner**2)

    def bounding_box(self) -> BoundingBox:
        return self.center - self.outer, self.center + self.outer

    @property
    def boundary(self) -> AnnulusBoundary:
        return self._boundary

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        # Draw ONLY from `generator`: then a seeded sampler reproduces its points exactly.
        return self.from_unit(torch.rand(n, 2, generator=generator, dtype=DTYPE))

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """``(u0, u1)`` -> radius ``sqrt(inner^2 + u0 (outer^2 - inner^2))``, angle ``2 pi u1``.

        The square root makes the map area preserving (uniform in the unit square -> uniform
        in the ring).
        """
        u = _as_unit(u, 2)
        r = (self.inner**2 + u[:, 0] * (self.outer**2 - self.inner**2)).sqrt()
        angle = 2.0 * math.pi * u[:, 1]
        return self.center + r.unsqueeze(1) * torch.stack(
            [torch.cos(angle), torch.sin(angle)], dim=1
        )

    def __repr__(self) -> str:
        return f"Annulus({self.space!r}, {self.center.tolist()}, {self.inner}, {self.outer})"


class AnnulusBoundary(AbstractBoundary):
    """The two circles of an :class:`Annulus`, with outward unit normals.

    Outward means out of the ring: away from the center on the outer circle, towards the center
    (into the hole) on the inner circle.
    """

    def __init__(self, annulus: Annulus) -> None:
        self.annulus = annulus
        self.space = annulus.space

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        a = self.annulus
        r = (_as_points(points, self.space) - a.center).norm(dim=1)
        return ((r - a.outer).abs() <= a.tolerance) | ((r - a.inner).abs() <= a.tolerance)

    @property
    def volume(self) -> float:
        """The total length of both circles."""
        return 2.0 * math.pi * (self.annulus.inner + self.annulus.outer)

    def bounding_box(self) -> BoundingBox:
        return self.annulus.bounding_box()

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Outward unit normals (N, 2); a point gets the normal of the nearer circle."""
        a = self.annulus
        offset = _as_points(points, self.space) - a.center
        r = offset.norm(dim=1, keepdim=True)
        radial = offset / r.clamp_min(1e-300)
        outer = (r - a.outer).abs() <= (r - a.inner).abs()
        return torch.where(outer, radial, -radial)

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.from_unit(torch.rand(n, 1, generator=generator, dtype=DTYPE))

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """Arc length: ``u`` in [0, 1] walks the outer circle, then the inner one, at one speed."""
        a = self.annulus
        s = _as_unit(u, 1)[:, 0] * self.volume  # arc length along both circles
        outer_length = 2.0 * math.pi * a.outer
        on_outer = s < outer_length
        outer = _on_circle(a.center, a.outer, s / a.outer)
        inner = _on_circle(a.center, a.inner, (s - outer_length) / a.inner)
        return torch.where(on_outer.unsqueeze(1), outer, inner)

    def __repr__(self) -> str:
        return f"AnnulusBoundary({self.annulus!r})"


# -- the schema and the factory: what the registration points to ------------------------------


@dataclass
class AnnulusParams:
    """Parameters of ``domain=annulus`` (``python train.py domain=annulus domain.inner=0.25``).

    Every field is typed (OmegaConf checks it) and has a default (so the bare option works);
    lists use ``field(default_factory=...)``. Do not call a field ``name``.

    Attributes:
        center: The common center of both circles.
        inner: The inner radius, > 0.
        outer: The outer radius, > inner.
        variable: The name of the 2-D variable, ``R2(variable)``.
    """

    center: list[float] = field(default_factory=lambda: [0.0, 0.0])
    inner: float = 0.5
    outer: float = 1.0
    variable: str = "x"

    def __post_init__(self) -> None:
        # Runs when the config becomes a schema instance: bad values fail before training.
        if len(self.center) != 2:
            raise GeometryError(
                f"annulus: center={list(self.center)} must have 2 numbers, e.g. [0, 0]."
            )
        if not 0.0 < self.inner < self.outer:
            raise GeometryError(
                f"annulus: inner={self.inner}, outer={self.outer}; use 0 < inner < outer, e.g. "
                "domain.inner=0.5 domain.outer=1.0."
            )


def build_annulus(params: AnnulusParams) -> Annulus:
    """The domain factory: ``factory(params) -> AbstractDomain``."""
    return Annulus(Rn(params.variable, 2), params.center, params.inner, params.outer)
