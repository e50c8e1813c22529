"""Built-in plugin: the samplers random, grid, latin_hypercube, sobol, halton and adaptive.

Every factory is ``factory(params, domain, n_points, seed) -> AbstractSampler``.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepinn.domains import AbstractDomain
from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration
from deepinn.samplers._abstract import AbstractSampler
from deepinn.samplers._adaptive import AdaptiveSampler
from deepinn.samplers._grid import GridSampler
from deepinn.samplers._quasi import HaltonSampler, LatinHypercubeSampler, SobolSampler
from deepinn.samplers._random import RandomUniformSampler


@dataclass
class RandomParams:
    """Uniform random points (no parameters)."""


@dataclass
class GridParams:
    """A regular grid topped up with random points (no parameters)."""


@dataclass
class QuasiRandomParams:
    """A quasi-random sequence."""

    scramble: bool = True


@dataclass
class AdaptiveParams:
    """Residual-adaptive points, re-selected from the current network's residual every
    ``resample_every`` steps (which must be > 0).

    ``method``: ``rad`` (n points drawn from ``pool_factor * n`` uniform candidates with density
    ``|r|^k / mean(|r|^k) + c``, Wu et al. 2023), ``rard`` (keep the points, add
    ``add_fraction * n`` drawn with that density per round) or ``greedy`` (the n largest |r|).
    """

    method: str = "rad"
    k: float = 1.0
    c: float = 1.0
    pool_factor: int = 4
    add_fraction: float = 0.1


def build_random(
    params: RandomParams, domain: AbstractDomain, n_points: int, seed: int | None = None
) -> AbstractSampler:
    """Build a :class:`RandomUniformSampler`."""
    return RandomUniformSampler(domain, n_points, seed=seed)


def build_grid(
    params: GridParams, domain: AbstractDomain, n_points: int, seed: int | None = None
) -> AbstractSampler:
    """Build a :class:`GridSampler`."""
    return GridSampler(domain, n_points, seed=seed)


def build_latin_hypercube(
    params: QuasiRandomParams, domain: AbstractDomain, n_points: int, seed: int | None = None
) -> AbstractSampler:
    """Build a :class:`LatinHypercubeSampler`."""
    return LatinHypercubeSampler(domain, n_points, seed=seed, scramble=params.scramble)


def build_sobol(
    params: QuasiRandomParams, domain: AbstractDomain, n_points: int, seed: int | None = None
) -> AbstractSampler:
    """Build a :class:`SobolSampler`."""
    return SobolSampler(domain, n_points, seed=seed, scramble=params.scramble)


def build_halton(
    params: QuasiRandomParams, domain: AbstractDomain, n_points: int, seed: int | None = None
) -> AbstractSampler:
    """Build a :class:`HaltonSampler`."""
    return HaltonSampler(domain, n_points, seed=seed, scramble=params.scramble)


def build_adaptive(
    params: AdaptiveParams, domain: AbstractDomain, n_points: int, seed: int | None = None
) -> AbstractSampler:
    """Build an :class:`AdaptiveSampler` (the training data scores it with the network)."""
    return AdaptiveSampler(
        domain,
        n_points,
        pool_factor=params.pool_factor,
        seed=seed,
        method=params.method,
        k=params.k,
        c=params.c,
        add_fraction=params.add_fraction,
    )


@hookimpl
def deepinn_samplers() -> list[Registration]:
    return [
        Registration("random", build_random, RandomParams, "independent uniform random points"),
        Registration("grid", build_grid, GridParams, "regular grid, topped up with random points"),
        Registration(
            "latin_hypercube", build_latin_hypercube, QuasiRandomParams, "Latin hypercube points"
        ),
        Registration("sobol", build_sobol, QuasiRandomParams, "scrambled Sobol sequence"),
        Registration("halton", build_halton, QuasiRandomParams, "scrambled Halton sequence"),
        Registration(
            "adaptive", build_adaptive, AdaptiveParams, "residual-adaptive points (RAD, RAR-D)"
        ),
    ]
