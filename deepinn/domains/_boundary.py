"""A boundary made of parts (edges, faces, restricted boundaries, product pieces)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch

from deepinn._errors import GeometryError
from deepinn.domains._abstract import AbstractBoundary, BoundingBox
from deepinn.domains._coerce import DTYPE, as_points, as_unit
from deepinn.spaces import Points, Space

__all__ = ["PiecewiseBoundary", "supports_distance"]


def supports_distance(part: object) -> bool:
    """Whether a boundary part has a working ``distance(points)`` method."""
    return bool(getattr(part, "supports_distance", False))


def _distances(parts: Sequence[AbstractBoundary], x: torch.Tensor) -> torch.Tensor:
    """``(len(parts), N)``: each part's ``distance`` (parts that ``supports_distance``)."""
    return torch.stack([cast(Any, part).distance(x) for part in parts])


def _stratified_counts(
    weights: torch.Tensor, n: int, generator: torch.Generator | None
) -> list[int]:
    """How many of ``n`` points each part gets: the whole part of its share ``n * w / sum(w)``,
    and the points left over to distinct parts drawn by the fractions.

    For a finite set (the two ends of an interval) independent draws can leave a point without
    any, and its condition then goes untrained: with two ends and two points, half the draws.
    """
    share = weights / weights.sum() * n
    counts = share.floor()
    left = n - int(counts.sum())
    if left > 0:
        fractions = (share - counts).clamp_min(0)
        if int((fractions > 0).sum()) >= left:
            extra = torch.multinomial(fractions, left, replacement=False, generator=generator)
        else:  # rounding left fewer fractions than points: any parts by their weights
            extra = torch.multinomial(weights, left, replacement=True, generator=generator)
        counts += torch.bincount(extra, minlength=len(weights)).to(counts.dtype)
    return [int(c) for c in counts.tolist()]


class PiecewiseBoundary(AbstractBoundary):
    """The union of boundary parts that overlap in measure zero (edges, faces, pieces).

    The measure is the sum of the parts' measures; sampling picks a part with probability
    proportional to its measure. A point gets the normal of the first part that contains it,
    or, when no part does, of the nearest part (when all parts can measure distances).
    """

    def __init__(self, space: Space, parts: Sequence[AbstractBoundary]) -> None:
        self.space = space
        self.parts: tuple[AbstractBoundary, ...] = tuple(parts)
        if not self.parts:
            raise GeometryError("A boundary needs at least one part; got none.")
        self._intrinsic_dim = self.parts[0].intrinsic_dim
        self._box: BoundingBox | None = None
        self._measures: torch.Tensor | None = None  # the parts' measures, computed once

    @property
    def intrinsic_dim(self) -> int:
        return self._intrinsic_dim

    def _weights(self) -> torch.Tensor:
        if self._measures is None:
            self._measures = torch.tensor([part.volume for part in self.parts], dtype=DTYPE)
        return self._measures

    @property
    def volume(self) -> float:
        return float(self._weights().sum())

    def bounding_box(self) -> BoundingBox:
        if self._box is None:
            boxes = [part.bounding_box() for part in self.parts]
            lower = torch.stack([box[0] for box in boxes]).min(dim=0).values
            upper = torch.stack([box[1] for box in boxes]).max(dim=0).values
            self._box = (lower, upper)
        return self._box[0].clone(), self._box[1].clone()

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        inside = torch.zeros(x.shape[0], dtype=torch.bool)
        for part in self.parts:
            inside |= part.contains(x)
        return inside

    def part_index(self, points: torch.Tensor | Points) -> torch.Tensor:
        """For each point, the index of the part whose normal it gets (int64, (N,)).

        Raises:
            GeometryError: A point lies on no part and the parts cannot measure distances.
        """
        x = as_points(points, self.space)
        index = torch.full((x.shape[0],), -1, dtype=torch.long)
        for i, part in enumerate(self.parts):
            free = index < 0
            if not bool(free.any()):
                break
            hit = part.contains(x[free])
            index[free.nonzero().squeeze(1)[hit]] = i
        missing = index < 0
        if bool(missing.any()):
            if self.supports_distance:
                distances = _distances(self.parts, x[missing])
                index[missing] = distances.argmin(dim=0)
            else:
                first = x[missing][0].tolist()
                raise GeometryError(
                    f"{int(missing.sum())} point(s) are not on the boundary (e.g. {first}); "
                    "normals exist only on the boundary. Sample points from `domain.boundary`."
                )
        return index

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        x = as_points(points, self.space)
        index = self.part_index(x)
        normals = torch.zeros_like(x)
        for i, part in enumerate(self.parts):
            mask = index == i
            if bool(mask.any()):
                normals[mask] = part.normal(x[mask]).to(DTYPE)
        return normals

    @property
    def supports_distance(self) -> bool:
        """Whether every part can measure distances (then ``distance`` works)."""
        return all(supports_distance(part) for part in self.parts)

    def distance(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Distance (N,) to the nearest part.

        Raises:
            NotImplementedError: A part cannot measure distances.
        """
        if not self.supports_distance:
            raise NotImplementedError(f"{self!r} has a part that cannot measure distances.")
        x = as_points(points, self.space)
        return _distances(self.parts, x).min(dim=0).values

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        weights = self._weights()
        if float(weights.sum()) <= 0.0:
            raise GeometryError(f"Cannot sample {self!r}: its measure is zero.")
        if n == 0:
            return torch.empty(0, self.dim, dtype=DTYPE)
        if self.intrinsic_dim == 0:
            counts = _stratified_counts(weights, n, generator)
        else:
            choice = torch.multinomial(weights, n, replacement=True, generator=generator)
            counts = torch.bincount(choice, minlength=len(self.parts)).tolist()
        chunks = [
            part.sample_uniform(count, generator)
            for part, count in zip(self.parts, counts, strict=True)
            if count
        ]
        points = torch.cat(chunks)
        return points[torch.randperm(n, generator=generator)]

    def select(self, u0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Split one unit coordinate into a part index (by measure) and a rescaled coordinate.

        Returns:
            ``(index, v)``: the part of each value and the value stretched back onto [0, 1].
        """
        weights = self._weights()
        total = float(weights.sum())
        if total <= 0.0:
            raise GeometryError(f"{self!r} has zero measure; it has no map from the unit cube.")
        cumulative = torch.cumsum(weights / total, dim=0)
        start = torch.cat([torch.zeros(1, dtype=DTYPE), cumulative[:-1]])
        index = torch.searchsorted(cumulative, u0.contiguous(), right=True)
        index = index.clamp(max=len(self.parts) - 1)
        # skip parts of zero measure that searchsorted could land on at their edge
        width = (weights / total)[index]
        v = torch.where(width > 0, (u0 - start[index]) / width.clamp_min(1e-300), u0)
        return index, v.clamp(0.0, 1.0)

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """Arc-length / surface parametrisation: the first coordinate picks the part by measure.

        Raises:
            NotImplementedError: The set is finite (intrinsic dimension 0) or a part has no map.
        """
        if self.intrinsic_dim == 0:
            raise NotImplementedError("A finite set of points has no map from the unit cube.")
        u = as_unit(u, self.intrinsic_dim)
        index, v = self.select(u[:, 0])
        rescaled = torch.cat([v.unsqueeze(1), u[:, 1:]], dim=1)
        out = torch.empty(u.shape[0], self.dim, dtype=DTYPE)
        for i, part in enumerate(self.parts):
            mask = index == i
            if bool(mask.any()):
                out[mask] = part.from_unit(rescaled[mask])
        return out

    def __repr__(self) -> str:
        return f"PiecewiseBoundary({len(self.parts)} parts in {self.space!r})"
