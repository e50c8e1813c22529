"""The region a configured problem is solved on, when ``where:`` restricts its interior.

When every constraint drawn from the interior keeps only the points where its ``where:``
holds (``where: "x**2 + y**2 > 0.25"``), the PDE is posed on that part of the domain only, and
the error is measured there too: :class:`RegionProblem` draws its evaluation set (and filters a
reference's points) with the union of those conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.problems._problem import Problem

__all__ = ["Mask", "RegionProblem", "union"]

Mask = Callable[[torch.Tensor], torch.Tensor]
"""``mask(points) -> (N,) bool``: the points where a ``where:`` condition holds."""

_ROUNDS = 64
"""Draws of the evaluation set before a region that holds almost nowhere is refused."""


def union(masks: Sequence[Mask]) -> Mask:
    """The points where any of ``masks`` holds."""

    def mask(points: torch.Tensor) -> torch.Tensor:
        x = points.to(torch.get_default_dtype())
        kept = torch.zeros(len(points), dtype=torch.bool)
        for one in masks:
            kept |= torch.as_tensor(one(x)).reshape(-1).to(torch.bool).cpu()
        return kept

    return mask


class RegionProblem(Problem):
    """A :class:`Problem` whose error is measured on a region of its domain only.

    Args:
        region: Where the problem is solved (``mask(points) -> (N,) bool``).
        where: The keys that define the region, for messages.

    Other arguments as :class:`Problem`.
    """

    def __init__(self, *args: Any, region: Mask, where: Sequence[str], **kwargs: Any) -> None:
        self.region = region
        self.where = tuple(where)
        super().__init__(*args, **kwargs)

    def evaluation_set(
        self, n_points: int = 10_000, seed: int = 1234
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As :meth:`Problem.evaluation_set`, inside the region only."""
        if self.reference is not None:
            points, values = super().evaluation_set(n_points, seed)
            inside = self.region(points)
            if not bool(inside.any()):
                raise ConfigurationError(
                    f"Problem {self.name!r}: no reference point lies where {', '.join(self.where)} "
                    "holds, so no error can be measured; check the conditions or the reference."
                )
            return points[inside], None if values is None else values[inside]
        generator = torch.Generator().manual_seed(seed)
        kept: list[torch.Tensor] = []
        got = 0
        for _ in range(_ROUNDS):
            if got >= n_points:
                break
            drawn = self.domain.sample_uniform(n_points, generator).to(torch.float64)
            inside = drawn[self.region(drawn)]
            kept.append(inside)
            got += len(inside)
        if got == 0:
            raise ConfigurationError(
                f"Problem {self.name!r}: {', '.join(self.where)} holds at none of "
                f"{_ROUNDS * n_points} points of the domain, so no error can be measured; check "
                "the conditions."
            )
        points = torch.cat(kept)[:n_points]
        if self.exact is None:
            return points, None
        return points, self._exact_at(points)

    def _exact_at(self, points: torch.Tensor) -> torch.Tensor:
        try:
            with torch.no_grad():
                values = torch.as_tensor(self.exact(points)).to(torch.float64)  # type: ignore[misc]
        except Exception as error:
            raise ConfigurationError(
                f"Problem {self.name!r}: exact(x) failed on {len(points)} points of shape "
                f"{tuple(points.shape)} ({type(error).__name__}: {error}); fix the function or "
                "leave exact out."
            ) from error
        return self._solution_values(points, values, "exact(x)")
