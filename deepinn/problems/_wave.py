"""The 1-D wave equation: a standing wave with an initial value and an initial velocity.

    u_tt = c^2 u_xx,  x in [0, 1], t in [0, t_end],
    u(0, t) = u(1, t) = 0,  u(x, 0) = sin(pi x),  u_t(x, 0) = c pi sin(pi x),

with the exact solution ``u = sin(pi x) (cos(c pi t) + sin(c pi t))``. Space
``R1('x') * R1('t')`` (columns x, t), output ``u``. The geometry is fixed: the domain chosen on
the command line is not used. The PDE residual is divided by ``(c pi)^2`` so that it starts at
O(1); the initial condition holds the value and the velocity residuals side by side.
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

__all__ = ["WaveParams", "build_wave", "wave_solution"]


@dataclass
class WaveParams:
    """Parameters of the wave problem (the Hydra structured config of ``problem=wave``)."""

    c: float = 1.0
    t_end: float = 1.0
    n_interior: int = 2000
    n_boundary: int = 200
    n_initial: int = 200
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts(
            "wave",
            n_interior=self.n_interior,
            n_boundary=self.n_boundary,
            n_initial=self.n_initial,
        )
        check_positive("wave", c=self.c, t_end=self.t_end)


def wave_solution(x: torch.Tensor, c: float) -> torch.Tensor:
    """``sin(pi x) (cos(c pi t) + sin(c pi t))`` at points (N, 2) (columns x, t), as (N, 1)."""
    phase = c * math.pi * x[:, 1:2]
    return torch.sin(math.pi * x[:, 0:1]) * (torch.cos(phase) + torch.sin(phase))


def initial_velocity(x: torch.Tensor, c: float) -> torch.Tensor:
    """``u_t(x, 0) = c pi sin(pi x)`` as (N, 1)."""
    return c * math.pi * torch.sin(math.pi * x[:, 0:1])


def _residual(field: Field, c: float) -> torch.Tensor:
    u_tt = field.partial("u", "t", "t")
    u_xx = field.partial("u", "x", "x")
    return (u_tt - c**2 * u_xx) / (c * math.pi) ** 2


def build_wave(params: WaveParams, domain: AbstractDomain, make_sampler: MakeSampler) -> Problem:
    """The wave problem on ``[0, 1] x [0, t_end]`` (``domain`` is not used: fixed geometry)."""
    box = space_time(0.0, 1.0, params.t_end)
    exact = functools.partial(wave_solution, c=params.c)
    problem = Problem(
        "wave",
        box.domain,
        [
            PDEConstraint(
                "pde",
                make_sampler(box.domain, params.n_interior),
                functools.partial(_residual, c=params.c),
                second_order=("x", "t"),
            ),
            DirichletBC("boundary", make_sampler(box.lateral, params.n_boundary), zero_value),
            InitialCondition(
                "initial",
                make_sampler(box.space_interval, params.n_initial),
                box.domain.space,
                exact,
                rate=functools.partial(initial_velocity, c=params.c),
            ),
        ],
        outputs=("u",),
        exact=exact,
    )
    problem.configure_weights(params.weights)
    return problem
