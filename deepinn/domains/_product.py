"""Products of domains in spaces with disjoint variables: ``Circle(R2('x')) * Interval(R1('t'))``.

The product lives in ``a.space * b.space`` (the columns of ``a`` first). Volume, sampling and
``from_unit`` are exact (products of the factors'). The boundary of a product of interiors is
``(da x b) | (a x db)`` with normals ``(n_a, 0)`` and ``(0, n_b)``. The product of a boundary
and an interior (a lateral surface such as ``circle.boundary * interval``) is itself a boundary,
with normals ``(n_a, 0)`` (or ``(0, n_b)``).
"""

from __future__ import annotations

import torch

from deepinn._errors import GeometryError
from deepinn.domains._abstract import AbstractBoundary, AbstractDomain, BoundingBox
from deepinn.domains._boundary import PiecewiseBoundary
from deepinn.domains._coerce import DTYPE, as_points, as_unit
from deepinn.spaces import Points

__all__ = ["ProductBoundary", "ProductDomain"]


class ProductDomain(AbstractDomain):
    """The Cartesian product of two domains whose spaces share no variable.

    Constructing it from one boundary and one interior gives a :class:`ProductBoundary`.

    Args:
        a: The first factor (its columns come first).
        b: The second factor.

    Raises:
        GeometryError: An operand is not a domain, or the two spaces share a variable.
    """

    def __new__(cls, a: AbstractDomain, b: AbstractDomain) -> ProductDomain:
        if cls is ProductDomain and (
            isinstance(a, AbstractBoundary) != isinstance(b, AbstractBoundary)
        ):
            return super().__new__(ProductBoundary)
        return super().__new__(cls)

    def __init__(self, a: AbstractDomain, b: AbstractDomain) -> None:
        for operand in (a, b):
            if not isinstance(operand, AbstractDomain):
                raise GeometryError(f"A product needs two domains; got {operand!r}.")
        shared = sorted(set(a.space.variables) & set(b.space.variables))
        if shared:
            raise GeometryError(
                f"Cannot take the product of {a!r} and {b!r}: their spaces {a.space!r} and "
                f"{b.space!r} share the variable(s) {shared}. Put the factors in spaces with "
                "different variable names, e.g. R2('x') and R1('t')."
            )
        self.a = a
        self.b = b
        self.space = a.space * b.space
        self._split = a.dim
        self._boundary: PiecewiseBoundary | None = None

    def _columns(self, points: torch.Tensor | Points) -> tuple[torch.Tensor, torch.Tensor]:
        x = as_points(points, self.space)
        return x[:, : self._split], x[:, self._split :]

    @property
    def intrinsic_dim(self) -> int:
        return self.a.intrinsic_dim + self.b.intrinsic_dim

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        xa, xb = self._columns(points)
        return self.a.contains(xa) & self.b.contains(xb)

    @property
    def volume(self) -> float:
        return self.a.volume * self.b.volume

    def bounding_box(self) -> BoundingBox:
        (la, ua), (lb, ub) = self.a.bounding_box(), self.b.bounding_box()
        return torch.cat([la, lb]).to(DTYPE), torch.cat([ua, ub]).to(DTYPE)

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        xa = self.a.sample_uniform(n, generator).to(DTYPE)
        xb = self.b.sample_uniform(n, generator).to(DTYPE)
        return torch.cat([xa, xb], dim=1)

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """The factors' maps side by side; a finite factor is picked by the other's first column.

        Raises:
            NotImplementedError: A factor has no map (or both factors are finite).
        """
        ka, kb = self.a.intrinsic_dim, self.b.intrinsic_dim
        u = as_unit(u, ka + kb)
        if ka == 0 or kb == 0:
            return self._finite_factor_map(u)
        xa = self.a.from_unit(u[:, :ka]).to(DTYPE)
        xb = self.b.from_unit(u[:, ka:]).to(DTYPE)
        return torch.cat([xa, xb], dim=1)

    def _finite_factor_map(self, u: torch.Tensor) -> torch.Tensor:
        finite, other = (self.a, self.b) if self.a.intrinsic_dim == 0 else (self.b, self.a)
        if other.intrinsic_dim == 0 or not isinstance(finite, PiecewiseBoundary):
            raise NotImplementedError(f"{self!r} has no map from the unit cube.")
        index, v = finite.select(u[:, 0])
        x_other = other.from_unit(torch.cat([v.unsqueeze(1), u[:, 1:]], dim=1)).to(DTYPE)
        x_finite = torch.empty(u.shape[0], finite.dim, dtype=DTYPE)
        for i, part in enumerate(finite.parts):
            mask = index == i
            if bool(mask.any()):
                x_finite[mask] = part.from_unit(torch.zeros(int(mask.sum()), 0, dtype=DTYPE))
        pair = (x_finite, x_other) if finite is self.a else (x_other, x_finite)
        return torch.cat(pair, dim=1)

    @property
    def boundary(self) -> PiecewiseBoundary:
        if isinstance(self, AbstractBoundary):
            raise NotImplementedError("A boundary has no boundary.")
        if isinstance(self.a, AbstractBoundary) or isinstance(self.b, AbstractBoundary):
            raise GeometryError(
                f"{self!r} is a product of two boundaries (codimension 2): it has no boundary "
                "with normals."
            )
        if self._boundary is None:
            parts = [ProductDomain(self.a.boundary, self.b), ProductDomain(self.a, self.b.boundary)]
            self._boundary = PiecewiseBoundary(self.space, parts)  # type: ignore[arg-type]
        return self._boundary

    def __repr__(self) -> str:
        return f"({self.a!r} * {self.b!r})"


class ProductBoundary(ProductDomain, AbstractBoundary):
    """The product of a boundary and an interior, e.g. the lateral surface ``dA x [0, T]``.

    Its normal is the boundary factor's normal, padded with zeros for the interior's columns.
    """

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        xa, xb = self._columns(points)
        if isinstance(self.a, AbstractBoundary):
            return torch.cat([self.a.normal(xa).to(DTYPE), torch.zeros_like(xb)], dim=1)
        return torch.cat([torch.zeros_like(xa), self.b.normal(xb).to(DTYPE)], dim=1)  # type: ignore[attr-defined]
