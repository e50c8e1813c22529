"""Set operations on domains: ``A | B`` (Union), ``A & B`` (Intersection), ``A - B`` (Difference).

Both operands must be interiors (not boundaries) of the same space. Sampling is rejection from
the operands. Volumes are exact when the bounding boxes do not overlap (the overlap is then
zero) and otherwise Monte Carlo estimates from ``2**17`` points of the smaller operand, drawn
from a generator seeded with ``MONTE_CARLO_SEED``, so they are reproducible (relative error
about ``1/sqrt(2**17 * fraction)``; exact when one operand lies inside the other).

Boundaries (see ``_restricted``): for ``A | B`` the parts of dA outside B and of dB outside A;
for ``A & B`` the parts of dA inside B and of dB inside A; for ``A - B`` the parts of dA
outside B plus the parts of dB inside A with flipped normals. Pieces the two boundaries share
are counted once. Their measures are Monte Carlo estimates as well.
"""

from __future__ import annotations

import torch

from deepinn._errors import ConfigurationError
from deepinn.domains._abstract import AbstractBoundary, AbstractDomain, BoundingBox
from deepinn.domains._boundary import PiecewiseBoundary
from deepinn.domains._coerce import DTYPE, as_points
from deepinn.domains._rejection import collect
from deepinn.domains._restricted import MONTE_CARLO_SEED, RestrictedBoundary, boxes_overlap
from deepinn.domains._tolerance import tolerance_for
from deepinn.spaces import Points

__all__ = ["Difference", "Intersection", "Union", "overlap_volume"]

INTERIOR_MONTE_CARLO_POINTS = 2**17
PROBE_STEP = 10.0
"""Normal probes step this many ``contains`` tolerances off a boundary."""


def overlap_volume(a: AbstractDomain, b: AbstractDomain) -> float:
    """The measure of ``a & b``: 0 when the boxes are apart, else Monte Carlo (fixed seed)."""
    if not boxes_overlap(a.bounding_box(), b.bounding_box()):
        return 0.0
    small, large = (a, b) if a.volume <= b.volume else (b, a)
    generator = torch.Generator().manual_seed(MONTE_CARLO_SEED)
    sample = small.sample_uniform(INTERIOR_MONTE_CARLO_POINTS, generator)
    return small.volume * float(large.contains(sample).to(DTYPE).mean())


def _restrict(boundary: AbstractBoundary, **kwargs: object) -> list[AbstractBoundary]:
    if isinstance(boundary, PiecewiseBoundary):
        return [part for piece in boundary.parts for part in _restrict(piece, **kwargs)]
    return [RestrictedBoundary(boundary, **kwargs)]  # type: ignore[arg-type]


class _SetOperation(AbstractDomain):
    """Shared checks and caching of the binary set operations."""

    _symbol = "?"

    def __init__(self, a: AbstractDomain, b: AbstractDomain) -> None:
        for operand in (a, b):
            if not isinstance(operand, AbstractDomain):
                raise ConfigurationError(
                    f"{type(self).__name__} needs two domains; got {operand!r}."
                )
            if isinstance(operand, AbstractBoundary):
                raise ConfigurationError(
                    f"{type(self).__name__} of boundaries is not supported ({operand!r}); "
                    "combine the interiors and take `.boundary` of the result."
                )
        if a.space != b.space:
            raise ConfigurationError(
                f"Cannot combine a domain of {a.space!r} with one of {b.space!r} by "
                f"'{self._symbol}'; both must live in the same space (use `*` for a product)."
            )
        self.space = a.space
        self.a = a
        self.b = b
        lower = torch.minimum(a.bounding_box()[0], b.bounding_box()[0])
        upper = torch.maximum(a.bounding_box()[1], b.bounding_box()[1])
        self.tolerance = tolerance_for(lower, upper)
        self.step = PROBE_STEP * self.tolerance
        self._volume: float | None = None
        self._boundary: PiecewiseBoundary | None = None

    @property
    def volume(self) -> float:
        if self._volume is None:
            self._volume = self._measure()
        return self._volume

    def _measure(self) -> float:
        raise NotImplementedError

    def _parts(self) -> list[AbstractBoundary]:
        raise NotImplementedError

    @property
    def boundary(self) -> PiecewiseBoundary:
        if self._boundary is None:
            self._boundary = PiecewiseBoundary(self.space, self._parts())
        return self._boundary

    def __repr__(self) -> str:
        return f"({self.a!r} {self._symbol} {self.b!r})"


class Union(_SetOperation):
    """The union ``a | b`` of two domains of one space."""

    _symbol = "|"

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        return self.a.contains(x) | self.b.contains(x)

    def _measure(self) -> float:
        return self.a.volume + self.b.volume - overlap_volume(self.a, self.b)

    def bounding_box(self) -> BoundingBox:
        (la, ua), (lb, ub) = self.a.bounding_box(), self.b.bounding_box()
        return torch.minimum(la, lb), torch.maximum(ua, ub)

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        va, vb = self.a.volume, self.b.volume

        def draw(m: int, gen: torch.Generator | None) -> torch.Tensor:
            from_a = int((torch.rand(m, generator=gen, dtype=DTYPE) < va / (va + vb)).sum())
            xa = self.a.sample_uniform(from_a, gen)
            xb = self.b.sample_uniform(m - from_a, gen)
            points = torch.cat([xa, xb[~self.a.contains(xb)]])
            return points[torch.randperm(points.shape[0], generator=gen)]

        return collect(draw, n, generator, self.dim, repr(self))

    def _parts(self) -> list[AbstractBoundary]:
        da, db = self.a.boundary, self.b.boundary
        return _restrict(da, other=self.b, rule="outside", step=self.step) + _restrict(
            db, other=self.a, rule="outside", step=self.step, exclude=da
        )


class Intersection(_SetOperation):
    """The intersection ``a & b`` of two domains of one space."""

    _symbol = "&"

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        return self.a.contains(x) & self.b.contains(x)

    def _measure(self) -> float:
        return overlap_volume(self.a, self.b)

    def bounding_box(self) -> BoundingBox:
        (la, ua), (lb, ub) = self.a.bounding_box(), self.b.bounding_box()
        lower, upper = torch.maximum(la, lb), torch.minimum(ua, ub)
        return lower, torch.maximum(lower, upper)

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        small, large = (self.a, self.b) if self.a.volume <= self.b.volume else (self.b, self.a)

        def draw(m: int, gen: torch.Generator | None) -> torch.Tensor:
            candidates = small.sample_uniform(m, gen)
            return candidates[large.contains(candidates)]

        return collect(draw, n, generator, self.dim, repr(self))

    def _parts(self) -> list[AbstractBoundary]:
        da, db = self.a.boundary, self.b.boundary
        return _restrict(da, other=self.b, rule="inner_in", step=self.step) + _restrict(
            db, other=self.a, rule="inner_in", step=self.step, exclude=da
        )


class Difference(_SetOperation):
    """The closure of ``a`` minus ``b`` (``a - b``): ``a`` without the interior of ``b``."""

    _symbol = "-"

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        in_b = self.b.contains(x)
        open_b = in_b.clone()
        if bool(in_b.any()):
            open_b[in_b] = ~self.b.boundary.contains(x[in_b])
        return self.a.contains(x) & ~open_b

    def _measure(self) -> float:
        return self.a.volume - overlap_volume(self.a, self.b)

    def bounding_box(self) -> BoundingBox:
        return self.a.bounding_box()

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        def draw(m: int, gen: torch.Generator | None) -> torch.Tensor:
            candidates = self.a.sample_uniform(m, gen)
            return candidates[~self.b.contains(candidates)]

        return collect(draw, n, generator, self.dim, repr(self))

    def _parts(self) -> list[AbstractBoundary]:
        da, db = self.a.boundary, self.b.boundary
        return _restrict(da, other=self.b, rule="inner_out", step=self.step) + _restrict(
            db, other=self.a, rule="outer_in", step=self.step, flip=True, exclude=da
        )
