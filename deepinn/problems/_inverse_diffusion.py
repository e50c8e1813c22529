"""An inverse problem: recover a constant diffusion coefficient from noisy observations of u.

    -k lap u = f  on any 1-3-D domain,   f = k_true d pi^2 prod_i sin(pi x_i),

so that ``u = prod_i sin(pi x_i)`` (Dirichlet data from it on the boundary). ``k`` is unknown:
it is the learnable ``problem.parameters['k']`` (a ``torch.nn.Parameter`` starting at
``k_initial``), trained with the network; ``problem.true_parameters['k'] = k_true`` lets the
training service log and report its relative error (``val/coefficient_error/k``,
``metrics.json: coefficient_rel_error``). What pins ``k`` down is ``n_data`` observations of
``u`` at random points, each with independent Gaussian noise of standard deviation ``noise``
(drawn once from ``data_seed``, so a configuration always sees the same data).

The space is the domain's (``R2('x')`` for the default square), output ``u``. The PDE residual
is divided by ``d pi^2``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import DataConstraint, DirichletBC, PDEConstraint
from deepinn.domains import AbstractDomain
from deepinn.operators import Field
from deepinn.problems._checks import check_counts, check_positive, require_dim
from deepinn.problems._poisson import sine_product
from deepinn.problems._problem import MakeSampler, Problem

__all__ = ["InverseDiffusionParams", "build_inverse_diffusion", "noisy_observations"]


@dataclass
class InverseDiffusionParams:
    """Parameters of the inverse problem.

    The structured config of ``problem=inverse_diffusion``.
    """

    k_true: float = 2.0
    k_initial: float = 1.0
    noise: float = 0.01
    n_data: int = 500
    data_seed: int = 1234
    n_interior: int = 2000
    n_boundary: int = 400
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_positive("inverse_diffusion", k_true=self.k_true, k_initial=self.k_initial)
        check_counts(
            "inverse_diffusion", n_data=self.n_data, n_interior=self.n_interior,
            n_boundary=self.n_boundary,
        )
        if not self.noise >= 0.0:
            raise ConfigurationError(
                f"problem=inverse_diffusion: noise = {self.noise!r}; use a standard deviation >= 0."
            )


def noisy_observations(
    domain: AbstractDomain, n: int, noise: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` uniform points of ``domain`` and ``prod sin(pi x_i)`` there plus N(0, noise^2) noise.

    Deterministic in ``seed``; float64.
    """
    generator = torch.Generator().manual_seed(seed)
    points = domain.sample_uniform(n, generator).to(torch.float64)
    noise_draw = torch.randn(n, 1, generator=generator, dtype=torch.float64)
    values = sine_product(points) + noise * noise_draw
    return points, values


def _residual(field: Field, k: torch.nn.Parameter, scale: float) -> torch.Tensor:
    return -k * field.laplacian("u") / scale


def _source(x: torch.Tensor, k_true: float) -> torch.Tensor:
    return k_true * sine_product(x)  # f / (d pi^2)


def build_inverse_diffusion(
    params: InverseDiffusionParams, domain: AbstractDomain, make_sampler: MakeSampler
) -> Problem:
    """The inverse diffusion problem on ``domain`` (dimension 1 to 3)."""
    require_dim("inverse_diffusion", domain, (1, 2, 3))
    k = torch.nn.Parameter(torch.tensor([float(params.k_initial)]))
    points, values = noisy_observations(domain, params.n_data, params.noise, params.data_seed)
    problem = Problem(
        "inverse_diffusion",
        domain,
        [
            PDEConstraint(
                "pde",
                make_sampler(domain, params.n_interior),
                functools.partial(_residual, k=k, scale=domain.dim * math.pi**2),
                functools.partial(_source, k_true=params.k_true),
                second_order=domain.space.coordinate_names(),
                laplacian_only=True,
            ),
            DirichletBC("boundary", make_sampler(domain.boundary, params.n_boundary), sine_product),
            DataConstraint("data", domain.space, points, values),
        ],
        outputs=("u",),
        exact=sine_product,
        parameters={"k": k},
        true_parameters={"k": params.k_true},
    )
    problem.configure_weights(params.weights)
    return problem
