"""The seed tutorial's Laplace problem: mixed Dirichlet and Neumann conditions on the unit square.

    lap u = 0  on [0, 1] x [0, 1],
    u = 0 on x = 0,  u = 1 on x = 1,  du/dn = 0 (zero flux) on y = 0 and y = 1,

with the exact solution ``u = x``. Space ``R1('x') * R1('y')`` (columns x, y), output ``u``.
The geometry is fixed: the domain chosen on the command line is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import DirichletBC, NeumannBC, PDEConstraint
from deepinn.domains import AbstractDomain, Interval
from deepinn.operators import Field
from deepinn.problems._checks import check_counts
from deepinn.problems._problem import MakeSampler, Problem, zero_value
from deepinn.problems._spacetime import interval_end
from deepinn.spaces import R1

__all__ = ["LaplaceParams", "build_laplace", "laplace_solution"]


@dataclass
class LaplaceParams:
    """Parameters of the Laplace problem (the Hydra structured config of ``problem=laplace``)."""

    n_interior: int = 1000
    n_dirichlet: int = 100
    n_neumann: int = 100
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_counts("laplace", n_interior=self.n_interior, n_neumann=self.n_neumann)
        if (
            isinstance(self.n_dirichlet, bool)
            or not isinstance(self.n_dirichlet, int)
            or self.n_dirichlet < 2
        ):
            raise ConfigurationError(
                f"problem=laplace: n_dirichlet = {self.n_dirichlet!r}; it is split between the "
                "faces x = 0 and x = 1, so use an int >= 2, e.g. problem.n_dirichlet=100."
            )


def laplace_solution(x: torch.Tensor) -> torch.Tensor:
    """``u = x`` at points (N, 2) (columns x, y), as (N, 1)."""
    return x[:, 0:1].clone()


def laplace_residual(field: Field) -> torch.Tensor:
    """``-lap u`` from a Field on ``R1('x') * R1('y')``."""
    return -field.laplacian("u")


def _one(x: torch.Tensor) -> torch.Tensor:
    return torch.ones(len(x), 1, dtype=x.dtype)


def build_laplace(
    params: LaplaceParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The Laplace problem on the unit square (``domain`` is not used: fixed geometry)."""
    x_side, y_side = Interval(R1("x"), 0.0, 1.0), Interval(R1("y"), 0.0, 1.0)
    square = x_side * y_side
    left = interval_end(x_side, "lower") * y_side
    right = interval_end(x_side, "upper") * y_side
    walls = x_side * y_side.boundary
    problem = Problem(
        "laplace",
        square,
        [
            PDEConstraint(
                "pde",
                make_sampler(square, params.n_interior),
                laplace_residual,
                second_order=("x", "y"),
                laplacian_only=True,
            ),
            DirichletBC("left", make_sampler(left, params.n_dirichlet // 2), zero_value),
            DirichletBC(
                "right", make_sampler(right, params.n_dirichlet - params.n_dirichlet // 2), _one
            ),
            NeumannBC("walls", make_sampler(walls, params.n_neumann), zero_value),
        ],
        outputs=("u",),
        exact=laplace_solution,
    )
    problem.configure_weights(params.weights)
    return problem
