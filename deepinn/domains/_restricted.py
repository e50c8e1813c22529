"""The part of a boundary kept by a set operation, with normals kept or flipped.

A point ``x`` of ``base`` (a part of the boundary of A or B) is kept when a probe step along
its normal lands where the result set is (or is not). The rules, with ``n`` the base normal:

- ``outside``: keep when ``x + step n`` is not in ``other`` (union; the outer side is free).
- ``inner_in``: keep when ``x - step n`` is in ``other`` (intersection).
- ``inner_out``: keep when ``x - step n`` is not in ``other`` (difference, the minuend).
- ``outer_in``: keep when ``x + step n`` is in ``other`` (difference, the subtrahend; flipped).

``exclude`` (optional) drops points that lie on another boundary, so boundary pieces that two
sets share are counted once. The rules are names, not lambdas, so domains pickle.
"""

from __future__ import annotations

import torch

from deepinn._errors import ConfigurationError
from deepinn.domains._abstract import AbstractBoundary, AbstractDomain, BoundingBox
from deepinn.domains._coerce import DTYPE, as_points
from deepinn.domains._rejection import collect
from deepinn.spaces import Points

__all__ = ["MONTE_CARLO_SEED", "RestrictedBoundary", "boxes_overlap"]

MONTE_CARLO_SEED = 0
"""Seed of the generator behind every Monte Carlo measure (volumes are reproducible)."""

BOUNDARY_MONTE_CARLO_POINTS = 2**14


def boxes_overlap(first: BoundingBox, second: BoundingBox, margin: float = 0.0) -> bool:
    """Whether two axis-aligned boxes, each grown by ``margin``, intersect."""
    return bool(
        (
            (first[0] - margin <= second[1] + margin) & (second[0] - margin <= first[1] + margin)
        ).all()
    )


_RULES = {
    "outside": (1.0, False),
    "inner_in": (-1.0, True),
    "inner_out": (-1.0, False),
    "outer_in": (1.0, True),
}


class RestrictedBoundary(AbstractBoundary):
    """Points of ``base`` kept by ``rule`` against ``other``; normals flipped when ``flip``.

    The measure is exact for finite sets (intrinsic dimension 0) and a Monte Carlo estimate
    (``2**14`` points, fixed seed) otherwise. Sampling is rejection from ``base``.
    """

    def __init__(
        self,
        base: AbstractBoundary,
        other: AbstractDomain,
        rule: str,
        step: float,
        flip: bool = False,
        exclude: AbstractBoundary | None = None,
    ) -> None:
        if rule not in _RULES:
            raise ConfigurationError(
                f"Unknown restriction rule {rule!r}; use one of {list(_RULES)}."
            )
        self.space = base.space
        self.base = base
        self.other = other
        self.rule = rule
        self.step = step
        self.flip = flip
        self.exclude = exclude
        self._volume: float | None = None

    @property
    def intrinsic_dim(self) -> int:
        return self.base.intrinsic_dim

    def keep(self, points: torch.Tensor) -> torch.Tensor:
        """The rule applied to points of the base (no check that they lie on it)."""
        if points.shape[0] == 0:
            return torch.zeros(0, dtype=torch.bool)
        direction, wanted = _RULES[self.rule]
        probe = points + direction * self.step * self.base.normal(points).to(DTYPE)
        kept = self.other.contains(probe) == wanted
        if self.exclude is not None:
            kept &= ~self.exclude.contains(points)
        return kept

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        on_base = self.base.contains(x)
        result = torch.zeros(x.shape[0], dtype=torch.bool)
        result[on_base] = self.keep(x[on_base])
        return result

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        normals = self.base.normal(points).to(DTYPE)
        return -normals if self.flip else normals

    @property
    def volume(self) -> float:
        if self._volume is None:
            base_volume = self.base.volume
            decided = self._decided()
            if base_volume == 0.0:
                self._volume = 0.0
            elif decided is not None:
                self._volume = base_volume if decided else 0.0
            elif self.intrinsic_dim == 0 and base_volume == 1.0:
                point = self.base.sample_uniform(1)
                self._volume = float(self.keep(point).all())
            else:
                generator = torch.Generator().manual_seed(MONTE_CARLO_SEED)
                sample = self.base.sample_uniform(BOUNDARY_MONTE_CARLO_POINTS, generator)
                self._volume = base_volume * float(self.keep(sample).to(DTYPE).mean())
        return self._volume

    def _decided(self) -> bool | None:
        """True/False when every base point is kept/dropped (bounding boxes far apart)."""
        lower, upper = self.base.bounding_box()
        if self.exclude is not None and boxes_overlap(
            (lower, upper), self.exclude.bounding_box(), self.step
        ):
            return None
        if boxes_overlap((lower, upper), self.other.bounding_box(), 2.0 * self.step):
            return None
        return not _RULES[self.rule][1]

    def bounding_box(self) -> BoundingBox:
        return self.base.bounding_box()

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        def draw(m: int, gen: torch.Generator | None) -> torch.Tensor:
            candidates = self.base.sample_uniform(m, gen)
            return candidates[self.keep(candidates)]

        return collect(draw, n, generator, self.dim, repr(self))

    def __repr__(self) -> str:
        return f"RestrictedBoundary({self.base!r}, {self.rule} {self.other!r})"
