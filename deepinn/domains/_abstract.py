"""The domain contract: a set in a space that can say what it contains and be sampled."""

from __future__ import annotations

import abc

import torch

from deepinn.spaces import Points, Space

__all__ = ["AbstractBoundary", "AbstractDomain", "BoundingBox"]

BoundingBox = tuple[torch.Tensor, torch.Tensor]
"""``(lower, upper)``: two float64 tensors of shape (d,)."""


class AbstractDomain(abc.ABC):
    """A measurable set in ``space`` (an interior, or a boundary: see :class:`AbstractBoundary`).

    Tensors given to and returned by a domain are (N, space.dim); methods accept ``Points`` too.
    Samplers rely only on this interface: ``sample_uniform`` for random points, ``from_unit``
    (when the domain has a measure-preserving map from the unit cube) for grid and quasi-random
    points, ``contains`` and ``bounding_box`` for rejection otherwise.
    """

    space: Space

    @property
    def dim(self) -> int:
        """Dimension of the ambient space (columns of a point)."""
        return self.space.dim

    @property
    def intrinsic_dim(self) -> int:
        """Dimension of the set itself: ``dim`` for an interior, ``dim - 1`` for a boundary."""
        return self.dim

    @abc.abstractmethod
    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        """A bool tensor (N,): which points lie in the set (closed, with a small tolerance)."""

    @property
    @abc.abstractmethod
    def volume(self) -> float:
        """The set's measure (length, area, volume; surface measure for a boundary)."""

    @abc.abstractmethod
    def bounding_box(self) -> BoundingBox:
        """``(lower, upper)`` corners of an axis-aligned box containing the set."""

    @property
    @abc.abstractmethod
    def boundary(self) -> AbstractBoundary:
        """The boundary, itself a sampleable set with outward unit normals."""

    @abc.abstractmethod
    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Exactly ``n`` points drawn uniformly (w.r.t. the set's measure), float64 (n, dim)."""

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """Map points of [0, 1]^intrinsic_dim onto the set, preserving uniform measure.

        Optional: domains without such a map raise ``NotImplementedError`` and samplers fall
        back to rejection from the bounding box (interiors) or to random points (boundaries).
        """
        raise NotImplementedError(f"{type(self).__name__} has no map from the unit cube.")

    # Set algebra, products with other spaces: implemented in deepinn.domains._setops.
    def __or__(self, other: AbstractDomain) -> AbstractDomain:
        from deepinn.domains._setops import Union

        return Union(self, other)

    def __and__(self, other: AbstractDomain) -> AbstractDomain:
        from deepinn.domains._setops import Intersection

        return Intersection(self, other)

    def __sub__(self, other: AbstractDomain) -> AbstractDomain:
        from deepinn.domains._setops import Difference

        return Difference(self, other)

    def __mul__(self, other: AbstractDomain) -> AbstractDomain:
        from deepinn.domains._product import ProductDomain

        return ProductDomain(self, other)


class AbstractBoundary(AbstractDomain):
    """The boundary of a domain: a set of intrinsic dimension ``dim - 1`` with normals."""

    @property
    def intrinsic_dim(self) -> int:
        return self.dim - 1

    @abc.abstractmethod
    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Outward unit normals (N, dim) at points on the boundary."""

    @property
    def boundary(self) -> AbstractBoundary:
        raise NotImplementedError(
            f"{self!r} is a boundary and has no boundary of its own; use the domain whose "
            "boundary it is (disk.boundary, not disk.boundary.boundary), or sample this set "
            "itself."
        )
