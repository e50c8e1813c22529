"""How a sampler reaches a domain: through ``from_unit``, or by rejection from the bounding box."""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepinn.domains import AbstractBoundary, AbstractDomain
from deepinn.domains._coerce import DTYPE
from deepinn.domains._rejection import collect

__all__ = ["has_unit_map", "is_interior", "map_or_reject"]

UnitDraw = Callable[[int], torch.Tensor]
"""``draw(m)``: the next ``m`` points of [0, 1]^k, (m, k)."""


def is_interior(domain: AbstractDomain) -> bool:
    """Whether the domain is full-dimensional (rejection from its bounding box works)."""
    return not isinstance(domain, AbstractBoundary) and domain.intrinsic_dim == domain.dim


def has_unit_map(domain: AbstractDomain) -> bool:
    """Whether ``domain.from_unit`` works (probed once with the cube's center)."""
    k = domain.intrinsic_dim
    if k < 1:
        return False
    try:
        domain.from_unit(torch.full((1, k), 0.5, dtype=DTYPE))
    except NotImplementedError:
        return False
    return True


def map_or_reject(
    domain: AbstractDomain,
    draw: UnitDraw,
    n: int,
    mapped: bool,
    generator: torch.Generator,
) -> torch.Tensor:
    """``n`` points of ``domain`` from unit-cube points: mapped, rejected, or random.

    Domains with a map take ``draw(n)`` through ``from_unit``. Interiors without one keep the
    bounding-box images of ``draw`` that they contain. Other sets (finite sets, boundaries of
    set operations) fall back to ``domain.sample_uniform`` with ``generator``.

    Raises:
        GeometryError: Rejection accepted too few points (the domain looks empty).
    """
    if mapped:
        return domain.from_unit(draw(n)).to(DTYPE)
    if not is_interior(domain):
        return domain.sample_uniform(n, generator).to(DTYPE)
    lower, upper = (t.to(DTYPE) for t in domain.bounding_box())

    def accepted(m: int, _: torch.Generator | None) -> torch.Tensor:
        candidates = lower + draw(m) * (upper - lower)
        return candidates[domain.contains(candidates)]

    return collect(accepted, n, generator, domain.dim, repr(domain))
