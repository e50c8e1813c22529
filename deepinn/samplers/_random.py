"""RandomUniformSampler: independent uniform points (``domain.sample_uniform``)."""

from __future__ import annotations

import torch

from deepinn.samplers._abstract import AbstractSampler

__all__ = ["RandomUniformSampler"]


class RandomUniformSampler(AbstractSampler):
    """Independent points, uniform with respect to the domain's measure.

    Boundaries made of several pieces are sampled with each piece weighted by its measure.

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns.
        filter_fn: Optional mask function; see :class:`AbstractSampler`.
        seed: Seed of the sampler's generator.
    """

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.domain.sample_uniform(n, generator).to(torch.float64)
