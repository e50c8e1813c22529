"""The default problem: Poisson with a manufactured solution on any 1-3-D domain.

-lap u = f with u = prod_i sin(pi x_i), f = d pi^2 prod_i sin(pi x_i), and Dirichlet data from
the exact solution on the whole boundary. The space is the domain's (``R2('x')`` with coordinates
``x0``, ``x1`` for the default square), output ``u``. The PDE residual is divided by d pi^2 so
that the interior and boundary terms start on the same scale.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.domains import AbstractDomain
from deepinn.operators import Field
from deepinn.problems._checks import check_counts, require_dim
from deepinn.problems._problem import MakeSampler, Problem

__all__ = ["PoissonParams", "build_poisson", "sine_product"]


@dataclass
class PoissonParams:
    """Parameters of the manufactured Poisson problem."""

    n_interior: int = 2000
    n_boundary: int = 400
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts("poisson", n_interior=self.n_interior, n_boundary=self.n_boundary)


def sine_product(x: torch.Tensor) -> torch.Tensor:
    """prod_i sin(pi x_i) as a column (N, 1)."""
    return torch.prod(torch.sin(math.pi * x), dim=1, keepdim=True)


def _residual(field: Field, scale: float) -> torch.Tensor:
    return -field.laplacian("u") / scale


def build_poisson(
    params: PoissonParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The manufactured Poisson problem on ``domain`` (dimension 1 to 3)."""
    require_dim("poisson", domain, (1, 2, 3))
    problem = Problem(
        "poisson",
        domain,
        [
            PDEConstraint(
                "pde",
                make_sampler(domain, params.n_interior),
                functools.partial(_residual, scale=domain.dim * math.pi**2),
                sine_product,  # f / (d pi^2)
                second_order=domain.space.coordinate_names(),
                laplacian_only=True,
            ),
            DirichletBC("boundary", make_sampler(domain.boundary, params.n_boundary), sine_product),
        ],
        outputs=("u",),
        exact=sine_product,
    )
    problem.configure_weights(params.weights)
    return problem
