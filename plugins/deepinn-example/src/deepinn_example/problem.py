"""TEMPLATE (problem): ``poisson_annulus``, Poisson with point sources and an exact solution.

    -lap u = sum_k q_k delta_eps(x - p_k)   in the domain      (the ``pointwise_source`` constraint)
         u = u_exact                        on its boundary    (deepinn's Dirichlet condition)

    u_exact(x) = sum_k -(q_k / (4 pi)) log(|x - p_k|^2 + eps^2)

By default a unit point source sits inside the ring 0.5 <= |x| <= 1 (``domain=annulus``), but the
exact solution holds in the whole plane, so the problem is posed on whatever 2-D domain is chosen
on the command line (``domain=circle``, ``domain=polygon``, ...); ``problem.own_domain=true`` poses
it on its own annulus instead, ignoring ``domain=`` (the pattern for a problem with a fixed
geometry).

The problem factory contract is
``factory(params, domain, make_sampler) -> deepinn.problems.Problem``:
``domain`` is the domain chosen on the command line and ``make_sampler(domain, n_points)`` builds
the sampler chosen on the command line (``sampler=jittered_grid``) for one constraint, seeded from
the run's seed. Build every constraint's points through ``make_sampler``, so ``sampler=`` applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from deepinn import ConfigurationError
from deepinn.constraints import DirichletBC
from deepinn.domains import AbstractDomain
from deepinn.problems import MakeSampler, Problem
from deepinn.spaces import Rn

from deepinn_example.constraint import (
    PointSource,
    PointwiseSourceParams,
    build_pointwise_source,
    point_source_potential,
)
from deepinn_example.domain import Annulus

__all__ = ["ExactSolution", "PoissonAnnulusParams", "build_poisson_annulus"]


def _default_sources() -> list[Any]:
    return [[0.75, 0.0, 1.0]]


@dataclass
class PoissonAnnulusParams:
    """Parameters of ``problem=poisson_annulus``.

    Attributes:
        n_interior: Collocation points of the equation.
        n_boundary: Points of the Dirichlet condition.
        sources: One ``[x, y, strength]`` per point source (typed ``list[Any]``: OmegaConf would
            reject the integers users type inside a nested ``list[list[float]]``).
        width: The regularisation ``eps`` of the sources.
        own_domain: Ignore ``domain=`` and use the annulus 0.5 <= |x| <= 1.
        weights: Loss weights by constraint name (``pde``, ``boundary``).
    """

    n_interior: int = 2000
    n_boundary: int = 400
    sources: list[Any] = field(default_factory=_default_sources)
    width: float = 0.1
    own_domain: bool = False
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.n_interior < 1 or self.n_boundary < 1:
            raise ConfigurationError(
                f"poisson_annulus: n_interior={self.n_interior}, n_boundary={self.n_boundary}; "
                "both must be >= 1."
            )
        try:
            self.sources = [[float(v) for v in source] for source in self.sources]
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"poisson_annulus: sources={self.sources!r}; give a list of [x, y, strength]."
            ) from None
        if not self.sources or any(len(source) != 3 for source in self.sources):
            raise ConfigurationError(
                f"poisson_annulus: sources={self.sources}; give at least one [x, y, strength], "
                "e.g. 'problem.sources=[[0.75,0,1]]'."
            )
        if not self.width > 0.0:
            raise ConfigurationError(f"poisson_annulus: width={self.width}; use a width > 0.")


class ExactSolution:
    """``u_exact`` as a picklable callable (a module-level class, not a closure).

    The training loop evaluates it on the evaluation set and pickles the problem under
    ``ddp_spawn``, so keep exact solutions and boundary data module-level objects.
    """

    def __init__(self, sources: list[PointSource], width: float) -> None:
        self.sources = sources
        self.width = width

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return point_source_potential(x, self.sources, self.width)


def build_poisson_annulus(
    params: PoissonAnnulusParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The problem factory: ``factory(params, domain, make_sampler) -> Problem``."""
    if params.own_domain:
        domain = Annulus(Rn("x", 2), (0.0, 0.0), 0.5, 1.0)
    elif domain.dim != 2:
        raise ConfigurationError(
            f"Problem 'poisson_annulus' needs a 2-D domain; {domain!r} has dimension {domain.dim}. "
            "Pick domain=annulus (or any 2-D domain), or set problem.own_domain=true."
        )
    sources: list[PointSource] = [((x, y), q) for x, y, q in params.sources]
    exact = ExactSolution(sources, params.width)
    pde = build_pointwise_source(  # the plugin's own constraint type, through its factory
        PointwiseSourceParams(width=params.width),
        name="pde",
        sampler=make_sampler(domain, params.n_interior),
        sources=sources,
    )
    boundary = DirichletBC("boundary", make_sampler(domain.boundary, params.n_boundary), exact)
    problem = Problem("poisson_annulus", domain, [pde, boundary], exact=exact)
    problem.configure_weights(params.weights)
    return problem
