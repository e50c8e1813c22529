"""The viscous Burgers equation (the classic PINN benchmark with a steep front at x = 0).

    u_t + u u_x = nu u_xx,  nu = 0.01 / pi,  x in [-1, 1], t in [0, 1],
    u(x, 0) = -sin(pi x),  u(-1, t) = u(1, t) = 0.

Space ``R1('x') * R1('t')`` (columns x, t), output ``u``. The geometry is fixed: the domain
chosen on the command line is not used. No closed form exists; the reference solution
(``data/burgers.npz``, 256 x 101 grid) is computed by ``scripts/burgers_reference.py`` from the
Cole-Hopf transform with Gauss-Hermite quadrature (checked against a trapezoidal rule and the
classical slope 152.00516 at x = 0, t = 1.6037/pi), and the error is measured on that grid.
``exact_conditions=true`` holds the initial and boundary conditions exactly (an output
transform) and trains on the PDE residual alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import AbstractConstraint, DirichletBC, InitialCondition, PDEConstraint
from deepinn.domains import AbstractDomain
from deepinn.operators import Field
from deepinn.problems._checks import check_counts
from deepinn.problems._problem import MakeSampler, Problem, zero_value
from deepinn.problems._reference import load_grid_reference
from deepinn.problems._spacetime import space_time

__all__ = [
    "NU",
    "BurgersParams",
    "build_burgers",
    "burgers_exact_conditions",
    "burgers_initial",
]

NU = 0.01 / math.pi
"""The viscosity of the benchmark (the reference solution is computed for it)."""


@dataclass
class BurgersParams:
    """Parameters of the Burgers problem (the Hydra structured config of ``problem=burgers``).

    Attributes:
        n_interior: Collocation points of the PDE residual.
        n_boundary: Points of the boundary condition at ``x = +-1``.
        n_initial: Points of the initial condition at ``t = 0``.
        weights: Loss weights by constraint name (``pde``, ``boundary``, ``initial``).
        exact_conditions: Hold the initial and boundary conditions exactly,
            ``u = -sin(pi x) + t (1 - x^2) N``; the loss is then the PDE residual alone.
    """

    n_interior: int = 2540
    n_boundary: int = 80
    n_initial: int = 160
    weights: dict[str, float] = field(default_factory=dict)
    exact_conditions: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.exact_conditions, bool):
            raise ConfigurationError(
                f"problem.exact_conditions = {self.exact_conditions!r}; use true or false."
            )
        check_counts(
            "burgers",
            n_interior=self.n_interior,
            n_boundary=self.n_boundary,
            n_initial=self.n_initial,
        )


def burgers_initial(x: torch.Tensor) -> torch.Tensor:
    """``u(x, 0) = -sin(pi x)`` at points (N, 2) (columns x, t), as (N, 1)."""
    return -torch.sin(math.pi * x[:, 0:1])


def burgers_exact_conditions(x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """``u = -sin(pi x) + t (1 - x^2) N``: zero at ``x = +-1`` and ``-sin(pi x)`` at ``t = 0``."""
    s, t = x[:, 0:1], x[:, 1:2]
    return -torch.sin(math.pi * s) + t * (1.0 - s * s) * raw


def burgers_residual(field: Field) -> torch.Tensor:
    """``u_t + u u_x - nu u_xx`` from a Field on ``R1('x') * R1('t')``."""
    u = field["u"]
    u_t = field.partial("u", "t")
    u_x = field.partial("u", "x")
    u_xx = field.partial("u", "x", "x")
    return u_t + u * u_x - NU * u_xx


def build_burgers(
    params: BurgersParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The Burgers problem on ``[-1, 1] x [0, 1]`` (``domain`` is not used: fixed geometry)."""
    box = space_time(-1.0, 1.0, 1.0)
    constraints: list[AbstractConstraint] = [
        PDEConstraint(
            "pde",
            make_sampler(box.domain, params.n_interior),
            burgers_residual,
            second_order=("x",),
        )
    ]
    if not params.exact_conditions:
        constraints += [
            DirichletBC("boundary", make_sampler(box.lateral, params.n_boundary), zero_value),
            InitialCondition(
                "initial",
                make_sampler(box.space_interval, params.n_initial),
                box.domain.space,
                burgers_initial,
            ),
        ]
    problem = Problem(
        "burgers",
        box.domain,
        constraints,
        outputs=("u",),
        reference=load_grid_reference("burgers"),
        output_transform=burgers_exact_conditions if params.exact_conditions else None,
    )
    problem.configure_weights(params.weights)
    return problem
