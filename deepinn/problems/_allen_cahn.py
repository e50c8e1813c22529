"""The Allen-Cahn equation (a stiff reaction-diffusion benchmark that is hard for PINNs).

    u_t = 1e-4 u_xx - 5 u^3 + 5 u,  x in [-1, 1] periodic, t in [0, 1],
    u(x, 0) = x^2 cos(pi x),  u(-1, t) = u(1, t),  u_x(-1, t) = u_x(1, t).

Space ``R1('x') * R1('t')`` (columns x, t), output ``u``. The geometry is fixed: the domain
chosen on the command line is not used. The periodic condition pairs points on x = -1 with their
partners on x = 1 (values and gradients). No closed form exists; the reference solution
(``data/allen_cahn.npz``, 512 x 201 grid) is computed by ``scripts/allen_cahn_reference.py``
with a Fourier pseudo-spectral method (2048 modes) and ETDRK4 time stepping (dt = 2e-5).

Soft constraints alone rarely get a PINN below ~10% error here: the solution develops fronts of
width ~0.006 that the initial-condition and PDE terms pull towards the wrong state. The network
``allen_cahn_net`` (a registered network, see :mod:`deepinn.nn._allen_cahn_net`) is exactly
periodic in x (an MLP on ``cos(pi x), sin(pi x), t``), so the periodic condition vanishes
identically; ``conf/experiment/allen_cahn.yaml`` selects it and keeps the initial condition soft
(weighted 100), because the initial slope is not periodic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from deepinn.constraints import InitialCondition, PDEConstraint, PeriodicBC
from deepinn.domains import AbstractDomain
from deepinn.operators import Field
from deepinn.problems._checks import check_counts
from deepinn.problems._problem import MakeSampler, Problem
from deepinn.problems._reference import load_grid_reference
from deepinn.problems._spacetime import space_time

__all__ = ["DIFFUSION", "AllenCahnParams", "allen_cahn_initial", "build_allen_cahn"]

DIFFUSION = 1e-4
"""The diffusion coefficient of the benchmark (the reference solution is computed for it)."""


@dataclass
class AllenCahnParams:
    """Parameters of the Allen-Cahn problem (the structured config of ``problem=allen_cahn``)."""

    n_interior: int = 4000
    n_periodic: int = 200
    n_initial: int = 256
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts(
            "allen_cahn",
            n_interior=self.n_interior,
            n_periodic=self.n_periodic,
            n_initial=self.n_initial,
        )


def allen_cahn_initial(x: torch.Tensor) -> torch.Tensor:
    """``u(x, 0) = x^2 cos(pi x)`` at points (N, 2) (columns x, t), as (N, 1)."""
    s = x[:, 0:1]
    return s**2 * torch.cos(math.pi * s)


def allen_cahn_residual(field: Field) -> torch.Tensor:
    """``u_t - 1e-4 u_xx + 5 u^3 - 5 u`` from a Field on ``R1('x') * R1('t')``."""
    u = field["u"]
    u_t = field.partial("u", "t")
    u_xx = field.partial("u", "x", "x")
    return u_t - DIFFUSION * u_xx + 5.0 * u**3 - 5.0 * u


def build_allen_cahn(
    params: AllenCahnParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The Allen-Cahn problem on ``[-1, 1) x [0, 1]`` (``domain`` is not used)."""
    box = space_time(-1.0, 1.0, 1.0)
    problem = Problem(
        "allen_cahn",
        box.domain,
        [
            PDEConstraint(
                "pde",
                make_sampler(box.domain, params.n_interior),
                allen_cahn_residual,
                second_order=("x",),
            ),
            PeriodicBC(
                "periodic", make_sampler(box.left, params.n_periodic), (2.0, 0.0), derivatives=True
            ),
            InitialCondition(
                "initial",
                make_sampler(box.space_interval, params.n_initial),
                box.domain.space,
                allen_cahn_initial,
            ),
        ],
        outputs=("u",),
        reference=load_grid_reference("allen_cahn"),
    )
    problem.configure_weights(params.weights)
    return problem
