"""The 1-D heat equation with an exact solution.

    u_t = alpha u_xx,  x in [0, 1], t in [0, t_end],
    u(0, t) = u(1, t) = 0,  u(x, 0) = sin(pi x),

with the exact solution ``u = exp(-alpha pi^2 t) sin(pi x)``. Space ``R1('x') * R1('t')``
(columns x, t), output ``u``. The geometry is fixed: the domain chosen on the command line is
not used. The PDE residual is divided by ``alpha pi^2`` so that every term starts at O(1).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from deepinn.constraints import DirichletBC, InitialCondition, PDEConstraint
from deepinn.domains import AbstractDomain
from deepinn.operators import Field
from deepinn.problems._checks import check_counts, check_positive
from deepinn.problems._problem import MakeSampler, Problem, zero_value
from deepinn.problems._spacetime import space_time

__all__ = ["HeatParams", "build_heat", "heat_solution"]


@dataclass
class HeatParams:
    """Parameters of the heat problem (the Hydra structured config of ``problem=heat``)."""

    alpha: float = 0.1
    t_end: float = 1.0
    n_interior: int = 2000
    n_boundary: int = 200
    n_initial: int = 200
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts(
            "heat",
            n_interior=self.n_interior,
            n_boundary=self.n_boundary,
            n_initial=self.n_initial,
        )
        check_positive("heat", alpha=self.alpha, t_end=self.t_end)


def heat_solution(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """``exp(-alpha pi^2 t) sin(pi x)`` at points (N, 2) with columns (x, t), as (N, 1)."""
    return torch.exp(-alpha * math.pi**2 * x[:, 1:2]) * torch.sin(math.pi * x[:, 0:1])


def _residual(field: Field, alpha: float) -> torch.Tensor:
    u_t = field.partial("u", "t")
    u_xx = field.partial("u", "x", "x")
    return (u_t - alpha * u_xx) / (alpha * math.pi**2)


def build_heat(params: HeatParams, domain: AbstractDomain, make_sampler: MakeSampler) -> Problem:
    """The heat problem on ``[0, 1] x [0, t_end]`` (``domain`` is not used: fixed geometry)."""
    box = space_time(0.0, 1.0, params.t_end)
    exact = functools.partial(heat_solution, alpha=params.alpha)
    problem = Problem(
        "heat",
        box.domain,
        [
            PDEConstraint(
                "pde",
                make_sampler(box.domain, params.n_interior),
                functools.partial(_residual, alpha=params.alpha),
                second_order=("x",),
            ),
            DirichletBC("boundary", make_sampler(box.lateral, params.n_boundary), zero_value),
            InitialCondition(
                "initial",
                make_sampler(box.space_interval, params.n_initial),
                box.domain.space,
                exact,
            ),
        ],
        outputs=("u",),
        exact=exact,
    )
    problem.configure_weights(params.weights)
    return problem
