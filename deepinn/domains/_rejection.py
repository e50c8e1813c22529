"""Rejection sampling: drawing points of a set from candidates until enough are accepted."""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepinn._errors import GeometryError
from deepinn.domains._coerce import DTYPE

__all__ = ["MAX_REJECTION_ROUNDS", "collect"]

MAX_REJECTION_ROUNDS = 200
"""Rejection sampling gives up (with a GeometryError) after this many batches."""


def collect(
    draw: Callable[[int, torch.Generator | None], torch.Tensor],
    n: int,
    generator: torch.Generator | None,
    dim: int,
    what: str,
) -> torch.Tensor:
    """Rejection sampling: call ``draw(m, generator)`` until ``n`` points are collected.

    ``draw`` returns the accepted points of a batch of ``m`` candidates, in random order.

    Raises:
        GeometryError: No point was accepted after many batches (the set looks empty).
    """
    chunks: list[torch.Tensor] = []
    got = 0
    tried = 0
    for _ in range(MAX_REJECTION_ROUNDS):
        if got >= n:
            break
        need = n - got
        rate = got / tried if got else 0.0
        m = int(need / rate * 1.2) + 16 if rate > 0 else max(2 * need, 64)
        m = min(m, max(1_000_000, 2 * need))
        accepted = draw(m, generator)
        tried += m
        got += accepted.shape[0]
        chunks.append(accepted)
    if got < n:
        raise GeometryError(
            f"Could not sample {n} points from {what}: {got} of {tried} candidates were "
            "accepted. The set is empty or has (almost) zero measure; check its definition."
        )
    return torch.cat(chunks)[:n] if chunks else torch.empty(0, dim, dtype=DTYPE)
