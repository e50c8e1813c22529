"""The PINN failure-mode suite of Krishnapriyan et al. (2021) and Rathore et al. (2024).

Three 1-D problems on which plain PINNs are known to fail, each with its exact solution. Space
``R1('x') * R1('t')`` (columns x, t), output ``u``, ``t in [0, 1]``; the geometry is fixed (the
domain chosen on the command line is not used).

- ``convection``: ``u_t + beta u_x = 0`` on ``x in [0, 2 pi]``, ``u(x, 0) = sin x``, periodic in
  x; exact ``u = sin(x - beta t)``. The residual is divided by ``beta`` so that it starts at
  O(1). ``beta = 30`` and ``beta = 50`` are the hard cases of the literature.
- ``reaction``: ``u_t - rho u (1 - u) = 0`` on ``x in [0, 2 pi]``,
  ``u(x, 0) = exp(-(x - pi)^2 / (2 (pi/4)^2))``, periodic in x; exact
  ``u = u0 e^{rho t} / (u0 e^{rho t} + 1 - u0)``. The residual is divided by ``rho``.
- ``wave_rathore``: ``u_tt - 4 u_xx = 0`` on ``x in [0, 1]``,
  ``u(x, 0) = sin(pi x) + sin(4 pi x) / 2``, ``u_t(x, 0) = 0``, ``u(0, t) = u(1, t) = 0``; exact
  ``u = sin(pi x) cos(2 pi t) + sin(4 pi x) cos(8 pi t) / 2``. The residual is divided by
  ``(2 pi)^2``. (``problem=wave`` is a different, single-mode standing wave.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from deepinn.constraints import DirichletBC, InitialCondition, PDEConstraint, PeriodicBC
from deepinn.domains import AbstractDomain
from deepinn.operators import Field
from deepinn.problems._checks import check_counts, check_positive
from deepinn.problems._problem import MakeSampler, Problem, zero_value
from deepinn.problems._spacetime import space_time

__all__ = [
    "ConvectionParams",
    "ReactionParams",
    "WaveRathoreParams",
    "build_convection",
    "build_reaction",
    "build_wave_rathore",
    "convection_solution",
    "reaction_initial",
    "reaction_solution",
    "wave_rathore_solution",
]

TWO_PI = 2.0 * math.pi


@dataclass
class _PeriodicCounts:
    """The point counts of a 1-D periodic failure-mode problem, checked under ``_name``."""

    _name = "problem"
    n_interior: int = 2000
    n_periodic: int = 200
    n_initial: int = 256
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts(
            self._name,
            n_interior=self.n_interior,
            n_periodic=self.n_periodic,
            n_initial=self.n_initial,
        )


@dataclass
class ConvectionParams(_PeriodicCounts):
    """Parameters of ``problem=convection``: the speed ``beta`` and the point counts."""

    _name = "convection"
    beta: float = 30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("convection", beta=self.beta)


@dataclass
class ReactionParams(_PeriodicCounts):
    """Parameters of ``problem=reaction``: the growth rate ``rho`` and the point counts."""

    _name = "reaction"
    rho: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("reaction", rho=self.rho)


@dataclass
class WaveRathoreParams:
    """Parameters of ``problem=wave_rathore`` (the point counts; the speed is fixed at 2)."""

    n_interior: int = 2000
    n_boundary: int = 200
    n_initial: int = 256
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts(
            "wave_rathore",
            n_interior=self.n_interior,
            n_boundary=self.n_boundary,
            n_initial=self.n_initial,
        )


def convection_solution(x: torch.Tensor, beta: float) -> torch.Tensor:
    """``sin(x - beta t)`` at points (N, 2) (columns x, t), as (N, 1)."""
    return torch.sin(x[:, 0:1] - beta * x[:, 1:2])


def reaction_initial(x: torch.Tensor) -> torch.Tensor:
    """``exp(-(x - pi)^2 / (2 (pi/4)^2))`` at points (N, 2) (columns x, t), as (N, 1)."""
    return torch.exp(-((x[:, 0:1] - math.pi) ** 2) / (2.0 * (math.pi / 4.0) ** 2))


def reaction_solution(x: torch.Tensor, rho: float) -> torch.Tensor:
    """``u0 e^{rho t} / (u0 e^{rho t} + 1 - u0)`` at points (N, 2) (columns x, t), as (N, 1)."""
    u0 = reaction_initial(x)
    grown = u0 * torch.exp(rho * x[:, 1:2])
    return grown / (grown + 1.0 - u0)


def wave_rathore_solution(x: torch.Tensor) -> torch.Tensor:
    """``sin(pi x) cos(2 pi t) + sin(4 pi x) cos(8 pi t) / 2`` at (N, 2) points, as (N, 1)."""
    s, t = x[:, 0:1], x[:, 1:2]
    return torch.sin(math.pi * s) * torch.cos(TWO_PI * t) + 0.5 * torch.sin(
        4.0 * math.pi * s
    ) * torch.cos(4.0 * TWO_PI * t)


def convection_residual(field: Field, beta: float) -> torch.Tensor:
    """``(u_t + beta u_x) / beta``."""
    return (field.partial("u", "t") + beta * field.partial("u", "x")) / beta


def reaction_residual(field: Field, rho: float) -> torch.Tensor:
    """``(u_t - rho u (1 - u)) / rho``."""
    u = field["u"]
    return (field.partial("u", "t") - rho * u * (1.0 - u)) / rho


def wave_rathore_residual(field: Field) -> torch.Tensor:
    """``(u_tt - 4 u_xx) / (2 pi)^2``."""
    return (field.partial("u", "t", "t") - 4.0 * field.partial("u", "x", "x")) / TWO_PI**2


def _periodic_problem(
    name: str,
    params: ConvectionParams | ReactionParams,
    make_sampler: MakeSampler,
    residual: Callable[[Field], torch.Tensor],
    exact: functools.partial[torch.Tensor],
) -> Problem:
    """``[0, 2 pi] x [0, 1]``: the PDE, ``u(0, t) = u(2 pi, t)`` and ``u(x, 0) = exact(x, 0)``."""
    box = space_time(0.0, TWO_PI, 1.0)
    problem = Problem(
        name,
        box.domain,
        [
            PDEConstraint("pde", make_sampler(box.domain, params.n_interior), residual),
            PeriodicBC("periodic", make_sampler(box.left, params.n_periodic), (TWO_PI, 0.0)),
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


def build_convection(
    params: ConvectionParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """Convection on ``[0, 2 pi] x [0, 1]``, periodic in x (``domain`` is not used)."""
    residual = functools.partial(convection_residual, beta=params.beta)
    exact = functools.partial(convection_solution, beta=params.beta)
    return _periodic_problem("convection", params, make_sampler, residual, exact)


def build_reaction(
    params: ReactionParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """Logistic reaction on ``[0, 2 pi] x [0, 1]``, periodic in x (``domain`` is not used)."""
    residual = functools.partial(reaction_residual, rho=params.rho)
    exact = functools.partial(reaction_solution, rho=params.rho)
    return _periodic_problem("reaction", params, make_sampler, residual, exact)


def build_wave_rathore(
    params: WaveRathoreParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The two-mode wave on ``[0, 1] x [0, 1]`` (``domain`` is not used)."""
    box = space_time(0.0, 1.0, 1.0)
    problem = Problem(
        "wave_rathore",
        box.domain,
        [
            PDEConstraint(
                "pde",
                make_sampler(box.domain, params.n_interior),
                wave_rathore_residual,
                second_order=("x", "t"),
            ),
            DirichletBC("boundary", make_sampler(box.lateral, params.n_boundary), zero_value),
            InitialCondition(
                "initial",
                make_sampler(box.space_interval, params.n_initial),
                box.domain.space,
                wave_rathore_solution,
                rate=zero_value,
            ),
        ],
        outputs=("u",),
        exact=wave_rathore_solution,
    )
    problem.configure_weights(params.weights)
    return problem
