"""Kovasznay flow: an exact solution of the steady incompressible Navier-Stokes equations.

    u u_x + v u_y + p_x - (u_xx + u_yy) / Re = 0,
    u v_x + v v_y + p_y - (v_xx + v_yy) / Re = 0,
    u_x + v_y = 0,          on [-0.5, 1] x [-0.5, 1.5],

with ``lambda = Re / 2 - sqrt(Re^2 / 4 + 4 pi^2)`` and the exact solution

    u = 1 - exp(lambda x) cos(2 pi y),  v = lambda / (2 pi) exp(lambda x) sin(2 pi y),
    p = (1 - exp(2 lambda x)) / 2.

Default ``Re = 20``. Space ``R1('x') * R1('y')`` (columns x, y), outputs ``u``, ``v``, ``p``.
The velocity is prescribed on the whole boundary and, since the pressure is fixed only up to a
constant, the pressure on the outflow x = 1. The geometry is fixed: the domain chosen on the
command line is not used. The error is measured over all three outputs together.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.domains import AbstractDomain, Interval
from deepinn.operators import Field
from deepinn.problems._checks import check_counts, check_positive
from deepinn.problems._problem import MakeSampler, Problem
from deepinn.problems._spacetime import interval_end
from deepinn.spaces import R1

__all__ = ["KovasznayParams", "build_kovasznay", "kovasznay_solution"]


@dataclass
class KovasznayParams:
    """Parameters of Kovasznay flow (the Hydra structured config of ``problem=kovasznay``)."""

    reynolds: float = 20.0
    n_interior: int = 2601
    n_boundary: int = 400
    n_outflow: int = 100
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_positive("kovasznay", reynolds=self.reynolds)
        check_counts(
            "kovasznay", n_interior=self.n_interior, n_boundary=self.n_boundary,
            n_outflow=self.n_outflow,
        )


def _lambda(reynolds: float) -> float:
    return reynolds / 2.0 - math.sqrt(reynolds**2 / 4.0 + 4.0 * math.pi**2)


def kovasznay_solution(x: torch.Tensor, reynolds: float) -> torch.Tensor:
    """``(u, v, p)`` at points (N, 2) (columns x, y), as (N, 3)."""
    lam = _lambda(reynolds)
    e = torch.exp(lam * x[:, 0:1])
    y = 2.0 * math.pi * x[:, 1:2]
    u = 1.0 - e * torch.cos(y)
    v = lam / (2.0 * math.pi) * e * torch.sin(y)
    p = 0.5 * (1.0 - e**2)
    return torch.cat([u, v, p], dim=1)


def navier_stokes_residual(field: Field, reynolds: float) -> torch.Tensor:
    """Both momentum equations and continuity, (N, 3), from a Field with outputs u, v, p."""
    f = field
    u, v = f["u"], f["v"]
    u_x, u_y = f.partial("u", "x"), f.partial("u", "y")
    v_x, v_y = f.partial("v", "x"), f.partial("v", "y")
    p_x, p_y = f.partial("p", "x"), f.partial("p", "y")
    momentum_x = u * u_x + v * u_y + p_x - f.laplacian("u") / reynolds
    momentum_y = u * v_x + v * v_y + p_y - f.laplacian("v") / reynolds
    return torch.cat([momentum_x, momentum_y, u_x + v_y], dim=1)


def _columns(x: torch.Tensor, reynolds: float, columns: slice) -> torch.Tensor:
    return kovasznay_solution(x, reynolds)[:, columns]


def build_kovasznay(
    params: KovasznayParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """Kovasznay flow on ``[-0.5, 1] x [-0.5, 1.5]`` (``domain`` is not used: fixed geometry)."""
    x_side, y_side = Interval(R1("x"), -0.5, 1.0), Interval(R1("y"), -0.5, 1.5)
    rectangle = x_side * y_side
    outflow = interval_end(x_side, "upper") * y_side
    re = params.reynolds
    problem = Problem(
        "kovasznay",
        rectangle,
        [
            PDEConstraint(
                "pde",
                make_sampler(rectangle, params.n_interior),
                functools.partial(navier_stokes_residual, reynolds=re),
                second_order=("x", "y"),
                laplacian_only=True,
            ),
            DirichletBC(
                "velocity",
                make_sampler(rectangle.boundary, params.n_boundary),
                functools.partial(_columns, reynolds=re, columns=slice(0, 2)),
                outputs=("u", "v"),
            ),
            DirichletBC(
                "outflow_pressure",
                make_sampler(outflow, params.n_outflow),
                functools.partial(_columns, reynolds=re, columns=slice(2, 3)),
                outputs="p",
            ),
        ],
        outputs=("u", "v", "p"),
        exact=functools.partial(kovasznay_solution, reynolds=re),
    )
    problem.configure_weights(params.weights)
    return problem
