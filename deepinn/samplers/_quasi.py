"""Quasi-random samplers: Latin hypercube, Sobol and Halton (``scipy.stats.qmc``).

SciPy's statistics package is imported when a quasi-random engine is first built, not with
deepinn: it is large, and a run without these samplers never needs it.
Each call builds a scrambled engine seeded from the sampler's generator (reproducible, fresh
points per call). Domains with ``from_unit`` get the engine's points mapped onto them; interiors
without one keep the bounding-box images they contain (the sequence continues until enough
are inside); other sets (finite sets, set-operation boundaries) fall back to random points.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch

from deepinn.domains import AbstractDomain
from deepinn.domains._coerce import DTYPE
from deepinn.samplers._abstract import AbstractSampler, FilterFn
from deepinn.samplers._unit import has_unit_map, map_or_reject

if TYPE_CHECKING:
    from scipy.stats import qmc

__all__ = ["HaltonSampler", "LatinHypercubeSampler", "SobolSampler"]


def _engine_seed(generator: torch.Generator) -> np.random.Generator:
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))


def _build(name: str, d: int, rng: np.random.Generator, **kwargs: object) -> qmc.QMCEngine:
    """``scipy.stats.qmc.<name>`` for ``d`` dimensions, seeded by ``rng``."""
    from scipy.stats import qmc

    engine = getattr(qmc, name)
    try:
        return engine(d, rng=rng, **kwargs)
    except TypeError:  # SciPy < 1.15 names it ``seed``
        return engine(d, seed=rng, **kwargs)


class _QuasiRandomSampler(AbstractSampler):
    """Shared drawing logic: a fresh scrambled engine per call."""

    def __init__(
        self,
        domain: AbstractDomain,
        n_points: int,
        filter_fn: FilterFn | None = None,
        seed: int | None = None,
        scramble: bool = True,
    ) -> None:
        super().__init__(domain, n_points, filter_fn, seed)
        self.scramble = bool(scramble)
        self._mapped = has_unit_map(domain)

    def _engine(self, d: int, rng: np.random.Generator) -> qmc.QMCEngine:
        raise NotImplementedError

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        k = self.domain.intrinsic_dim
        if k < 1:
            return self.domain.sample_uniform(n, generator).to(DTYPE)
        d = k if self._mapped else self.domain.dim
        engine = self._engine(d, _engine_seed(generator))

        def draw(m: int) -> torch.Tensor:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # Sobol: n not a power of two
                return torch.from_numpy(np.asarray(engine.random(m), dtype=np.float64))

        return map_or_reject(self.domain, draw, n, self._mapped, generator)


class LatinHypercubeSampler(_QuasiRandomSampler):
    """Latin hypercube points: one point per row and column stratum of the unit cube.

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns.
        filter_fn: Optional mask function; see :class:`AbstractSampler`.
        seed: Seed of the sampler's generator.
        scramble: Place points randomly inside their strata (else at the centers).
    """

    def _engine(self, d: int, rng: np.random.Generator) -> qmc.QMCEngine:
        return _build("LatinHypercube", d, rng, scramble=self.scramble)


class SobolSampler(_QuasiRandomSampler):
    """Scrambled Sobol points (low discrepancy; best balanced for powers of two).

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns.
        filter_fn: Optional mask function; see :class:`AbstractSampler`.
        seed: Seed of the sampler's generator.
        scramble: Owen-scramble the sequence (recommended; else every call is the same).
    """

    def _engine(self, d: int, rng: np.random.Generator) -> qmc.QMCEngine:
        return _build("Sobol", d, rng, scramble=self.scramble)


class HaltonSampler(_QuasiRandomSampler):
    """Scrambled Halton points (low discrepancy for any number of points).

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns.
        filter_fn: Optional mask function; see :class:`AbstractSampler`.
        seed: Seed of the sampler's generator.
        scramble: Scramble the sequence (recommended; else every call is the same).
    """

    def _engine(self, d: int, rng: np.random.Generator) -> qmc.QMCEngine:
        return _build("Halton", d, rng, scramble=self.scramble)
