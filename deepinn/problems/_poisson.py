"""The default problem: Poisson with a manufactured solution on any 1-3-D domain.

-lap u = f with u = prod_i sin(pi x_i), f = d pi^2 prod_i sin(pi x_i), and Dirichlet data from
the exact solution on the whole boundary. The PDE residual is divided by d pi^2 so that the
interior and boundary terms start on the same scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.domains import AbstractDomain
from deepinn.problems._problem import MakeSampler, Problem

__all__ = ["PoissonParams", "build_poisson", "sine_product"]


@dataclass
class PoissonParams:
    """Parameters of the manufactured Poisson problem."""

    n_interior: int = 2000
    n_boundary: int = 400
    weights: dict[str, float] = field(default_factory=dict)


def sine_product(x: torch.Tensor) -> torch.Tensor:
    """prod_i sin(pi x_i) as a column (N, 1)."""
    return torch.prod(torch.sin(math.pi * x), dim=1, keepdim=True)


def build_poisson(
    params: PoissonParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The manufactured Poisson problem on ``domain`` (dimension 1 to 3)."""
    dim = domain.dim
    if not 1 <= dim <= 3:
        raise ConfigurationError(
            f"Problem 'poisson' needs a 1-, 2- or 3-D domain; {domain!r} has dimension {dim}. "
            "Pick e.g. domain=interval, domain=parallelogram or domain=box."
        )
    scale = dim * math.pi**2

    def residual(field: object) -> torch.Tensor:
        return -field.laplacian("u") / scale  # type: ignore[attr-defined]

    def source(x: torch.Tensor) -> torch.Tensor:
        return sine_product(x)  # f / (d pi^2)

    problem = Problem(
        "poisson",
        domain,
        [
            PDEConstraint("pde", make_sampler(domain, params.n_interior), residual, source),
            DirichletBC("boundary", make_sampler(domain.boundary, params.n_boundary), sine_product),
        ],
        exact=sine_product,
    )
    problem.configure_weights(params.weights)
    return problem
