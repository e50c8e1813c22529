"""TEMPLATE (sampler): ``jittered_grid``, stratified sampling (one random point per grid cell).

A sampler subclasses ``deepinn.samplers.AbstractSampler`` and implements one method,
``_draw(n, generator) -> float64 (n, dim)``: the base class handles the seed and generator,
``filter_fn``, the exact point count, the dtype, checkpointing (``state_dict``) and pickling.
Use only the domain's public interface (``from_unit``, ``sample_uniform``, ``contains``,
``bounding_box``, ``volume``, ``intrinsic_dim``) so the sampler works on every domain, including
other plugins' domains; and draw only from ``generator`` so runs are reproducible.

The factory contract is ``factory(params, domain, n_points, seed) -> AbstractSampler``; the
training script calls it once per constraint with that constraint's domain (an interior or a
boundary) and point count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from deepinn.domains import AbstractDomain
from deepinn.samplers import AbstractSampler, FilterFn

__all__ = ["JitteredGridParams", "JitteredGridSampler", "build_jittered_grid"]

DTYPE = torch.float64


def _has_unit_map(domain: AbstractDomain) -> bool:
    """Whether ``domain.from_unit`` is implemented (it is optional in the domain contract)."""
    try:
        domain.from_unit(torch.full((1, domain.intrinsic_dim), 0.5, dtype=DTYPE))
    except NotImplementedError:
        return False
    return True


def _cells(m: int, k: int) -> torch.Tensor:
    """The lower corners (in cell units) of the m**k cells of [0, m]^k, (m**k, k)."""
    axes = torch.meshgrid(*[torch.arange(m, dtype=DTYPE)] * k, indexing="ij")
    return torch.stack([axis.reshape(-1) for axis in axes], dim=1)


def cells_per_axis(n: int, k: int) -> int:
    """The largest ``m`` with ``m**k <= n``."""
    m = math.floor(n ** (1.0 / k) + 1e-9)
    while (m + 1) ** k <= n:
        m += 1
    while m > 0 and m**k > n:
        m -= 1
    return m


class JitteredGridSampler(AbstractSampler):
    """Stratified points: the unit cube is cut into ``m**k`` equal cells (``m**k <= n_points``),
    each gets one uniform random point, and ``domain.from_unit`` maps them onto the domain.

    The ``n_points - m**k`` remaining points are uniform random. Each call draws fresh jitter
    (so resampling gives new points), but every cell always holds a point: the gaps of random
    sampling are gone without the aliasing of a fixed grid.

    Domains without ``from_unit``: interiors are stratified in their bounding box (cells
    outside the domain are dropped, surplus points removed at random); other sets (boundaries)
    fall back to ``sample_uniform``.

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns.
        filter_fn: Optional mask function (see ``AbstractSampler``).
        seed: Seed of the sampler's generator.
    """

    def __init__(
        self,
        domain: AbstractDomain,
        n_points: int,
        filter_fn: FilterFn | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(domain, n_points, filter_fn, seed)
        self.unit_map = _has_unit_map(domain)

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        domain = self.domain
        k = domain.intrinsic_dim
        if n == 0:
            return torch.empty(0, domain.dim, dtype=DTYPE)
        if k >= 1 and self.unit_map:
            m = cells_per_axis(n, k)
            cells = _cells(m, k)
            u = (cells + torch.rand(cells.shape, generator=generator, dtype=DTYPE)) / m
            points = domain.from_unit(u).to(DTYPE)
        elif k == domain.dim:
            points = self._stratified_in_box(n, generator)
        else:
            points = torch.empty(0, domain.dim, dtype=DTYPE)
        extra = domain.sample_uniform(n - points.shape[0], generator).to(DTYPE)
        return torch.cat([points, extra])

    def _stratified_in_box(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Jittered cells of the bounding box, kept where the domain contains them."""
        lower, upper = (t.to(DTYPE) for t in self.domain.bounding_box())
        d = lower.shape[0]
        fill = self.domain.volume / float((upper - lower).prod())  # the domain's share of the box
        m = max(1, math.ceil((n / max(fill, 1e-12)) ** (1.0 / d)))
        cells = _cells(m, d)
        points = lower + (cells + torch.rand(cells.shape, generator=generator, dtype=DTYPE)) / m * (
            upper - lower
        )
        points = points[self.domain.contains(points)]
        if points.shape[0] > n:
            points = points[torch.randperm(points.shape[0], generator=generator)[:n]]
        return points


@dataclass
class JitteredGridParams:
    """Parameters of ``sampler=jittered_grid``: none (an empty dataclass is a valid schema)."""


def build_jittered_grid(
    params: JitteredGridParams, domain: AbstractDomain, n_points: int, seed: int | None = None
) -> JitteredGridSampler:
    """The sampler factory: ``factory(params, domain, n_points, seed) -> AbstractSampler``."""
    return JitteredGridSampler(domain, n_points, seed=seed)
