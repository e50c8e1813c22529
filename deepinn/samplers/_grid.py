"""GridSampler: regular grids, topped up with random points to exactly ``n_points``.

Rounding rule:

- Interiors (full-dimensional domains): the cell-centred lattice of the bounding box with one
  spacing ``h`` for all axes (each axis gets ``max(1, round(extent / h))`` points), filtered by
  ``contains``; ``h`` is the one (found by bisection around ``(volume / n) ** (1 / d)``) giving
  the most points inside without exceeding ``n_points``. For the unit square and 100 points
  that is a 10 x 10 grid; for a disk it is the lattice clipped to the disk.
- Boundaries and other lower-dimensional sets with ``from_unit`` (circle, polygon edges, sphere
  surface, lateral surfaces): the cell-centred grid of ``m`` points per axis of the unit cube,
  with ``m`` the largest integer such that ``m**k <= n_points``, mapped through ``from_unit``
  (equal arc-length spacing on a 1-D boundary, exactly ``n_points`` points there).
- Sets without either (finite sets, boundaries of set operations): random points.

The grid is the same on every call; the ``n_points - len(grid)`` top-up points are uniform
random points from the sampler's generator, fresh on each call.
"""

from __future__ import annotations

import math

import torch

from deepinn._errors import GeometryError
from deepinn.domains import AbstractDomain
from deepinn.domains._coerce import DTYPE
from deepinn.samplers._abstract import AbstractSampler, FilterFn
from deepinn.samplers._unit import has_unit_map, is_interior

__all__ = ["GridSampler", "box_grid", "unit_grid"]

BISECTION_STEPS = 16
BRACKET_STEPS = 30


def unit_grid(m: int, k: int) -> torch.Tensor:
    """The cell-centred grid of ``m**k`` points of [0, 1]^k, (m**k, k)."""
    axis = (torch.arange(m, dtype=DTYPE) + 0.5) / m
    grids = torch.meshgrid(*[axis] * k, indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=1)


def box_grid(lower: torch.Tensor, upper: torch.Tensor, spacing: float) -> torch.Tensor:
    """The cell-centred lattice of a box with about ``spacing`` between points."""
    axes = []
    for lo, hi in zip(lower.tolist(), upper.tolist(), strict=True):
        m = max(1, round((hi - lo) / spacing))
        axes.append(lo + (torch.arange(m, dtype=DTYPE) + 0.5) * (hi - lo) / m)
    grids = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=1)


def _interior_grid(domain: AbstractDomain, n: int) -> torch.Tensor:
    lower, upper = (t.to(DTYPE) for t in domain.bounding_box())
    extent = (upper - lower).clamp_min(1e-300)
    d = domain.dim

    def inside(spacing: float) -> torch.Tensor:
        grid = box_grid(lower, upper, spacing)
        return grid[domain.contains(grid)]

    volume = min(domain.volume, float(extent.prod()))
    if not volume > 0:
        raise GeometryError(
            f"Cannot lay a grid on {domain!r}: its volume is {volume} (an empty set, e.g. a "
            "difference that removes everything). Check the domain's parts."
        )
    guess = math.log(volume / n) / d  # log spacing of ~n points inside
    lo, hi = guess - 0.4, guess + 0.4  # lo: more than n points, hi: at most n
    best = torch.empty(0, d, dtype=DTYPE)
    for _ in range(BRACKET_STEPS):
        points = inside(math.exp(lo))
        if points.shape[0] > n:
            break
        best, hi, lo = points, lo, lo - 0.7
    for _ in range(BRACKET_STEPS):
        points = inside(math.exp(hi))
        if points.shape[0] <= n:
            best = points if points.shape[0] > best.shape[0] else best
            break
        lo, hi = hi, hi + 0.7
    for _ in range(BISECTION_STEPS):
        if best.shape[0] == n:
            break
        mid = 0.5 * (lo + hi)
        points = inside(math.exp(mid))
        if points.shape[0] > n:
            lo = mid
        else:
            hi = mid
            if points.shape[0] > best.shape[0]:
                best = points
    return best


class GridSampler(AbstractSampler):
    """Points on a regular grid (see the module docstring for the exact rounding rule).

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns (grid plus random top-up).
        filter_fn: Optional mask function; rejected grid points are replaced by random ones.
        seed: Seed of the generator of the top-up points.
    """

    def __init__(
        self,
        domain: AbstractDomain,
        n_points: int,
        filter_fn: FilterFn | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(domain, n_points, filter_fn, seed)
        self._grid: torch.Tensor | None = None

    def grid(self) -> torch.Tensor:
        """The deterministic grid part, float64 (m, dim) with m <= n_points."""
        if self._grid is None:
            domain, n = self.domain, self.n_points
            k = domain.intrinsic_dim
            if is_interior(domain):
                self._grid = _interior_grid(domain, n)
            elif k >= 1 and has_unit_map(domain):
                m = math.floor(n ** (1.0 / k) + 1e-9)
                while (m + 1) ** k <= n:
                    m += 1
                while m**k > n:
                    m -= 1
                self._grid = domain.from_unit(unit_grid(m, k)).to(DTYPE)
            else:
                self._grid = torch.empty(0, domain.dim, dtype=DTYPE)
        return self._grid

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        grid = self.grid()[:n]
        extra = self._draw_extra(n - grid.shape[0], generator)
        return torch.cat([grid, extra])

    def _draw_extra(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.domain.sample_uniform(n, generator).to(DTYPE)
