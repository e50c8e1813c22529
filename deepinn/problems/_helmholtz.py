"""The 2-D Helmholtz equation with a manufactured solution, on any 2-D domain.

    lap u + k^2 u = f,   u = sin(a1 pi x0) sin(a2 pi x1),
    f = (k^2 - (a1^2 + a2^2) pi^2) u,

with Dirichlet data from the exact solution on the whole boundary. Defaults ``a1 = 1``,
``a2 = 4``, ``k = 1`` (the usual PINN benchmark); default domain the unit square
(``domain=parallelogram``), any 2-D domain works. The space is the domain's (``R2('x')`` with
coordinates ``x0``, ``x1`` for the built-in domains), output ``u``. The PDE residual is divided
by ``(a1^2 + a2^2) pi^2`` so that it starts at O(1).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.domains import AbstractDomain
from deepinn.operators import Field
from deepinn.problems._checks import check_counts, check_positive, require_dim
from deepinn.problems._problem import MakeSampler, Problem

__all__ = ["HelmholtzParams", "build_helmholtz", "helmholtz_solution"]


@dataclass
class HelmholtzParams:
    """Parameters of the Helmholtz problem (the structured config of ``problem=helmholtz``)."""

    k: float = 1.0
    a1: float = 1.0
    a2: float = 4.0
    n_interior: int = 4000
    n_boundary: int = 800
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts(
            "helmholtz", n_interior=self.n_interior, n_boundary=self.n_boundary,
        )
        check_positive("helmholtz", k=self.k, a1=self.a1, a2=self.a2)


def helmholtz_solution(x: torch.Tensor, a1: float, a2: float) -> torch.Tensor:
    """``sin(a1 pi x0) sin(a2 pi x1)`` at points (N, 2), as (N, 1)."""
    return torch.sin(a1 * math.pi * x[:, 0:1]) * torch.sin(a2 * math.pi * x[:, 1:2])


def _scale(a1: float, a2: float) -> float:
    return (a1**2 + a2**2) * math.pi**2


def _residual(field: Field, k: float, scale: float) -> torch.Tensor:
    return (field.laplacian("u") + k**2 * field["u"]) / scale


def _source(x: torch.Tensor, k: float, a1: float, a2: float) -> torch.Tensor:
    return (k**2 - _scale(a1, a2)) / _scale(a1, a2) * helmholtz_solution(x, a1, a2)


def build_helmholtz(
    params: HelmholtzParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The Helmholtz problem on ``domain`` (2-D)."""
    require_dim("helmholtz", domain, (2,))
    exact = functools.partial(helmholtz_solution, a1=params.a1, a2=params.a2)
    problem = Problem(
        "helmholtz",
        domain,
        [
            PDEConstraint(
                "pde",
                make_sampler(domain, params.n_interior),
                functools.partial(_residual, k=params.k, scale=_scale(params.a1, params.a2)),
                functools.partial(_source, k=params.k, a1=params.a1, a2=params.a2),
                second_order=domain.space.coordinate_names(),
                laplacian_only=True,
            ),
            DirichletBC("boundary", make_sampler(domain.boundary, params.n_boundary), exact),
        ],
        outputs=("u",),
        exact=exact,
    )
    problem.configure_weights(params.weights)
    return problem
