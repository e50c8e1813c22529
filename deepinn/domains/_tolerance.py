"""How far outside a domain ``contains`` still accepts a point."""

from __future__ import annotations

import torch

__all__ = ["RELATIVE_TOLERANCE", "tolerance_for"]

RELATIVE_TOLERANCE = 1e-6
"""``contains`` accepts points this far outside, relative to the domain's coordinate scale."""


def tolerance_for(lower: torch.Tensor, upper: torch.Tensor) -> float:
    """The ``contains`` tolerance of a set with bounding box ``(lower, upper)``."""
    scale = float(torch.maximum(lower.abs(), upper.abs()).max())
    extent = float((upper - lower).max())
    return RELATIVE_TOLERANCE * max(scale, extent, 1e-12)
