"""pointwise_source and poisson_annulus: the exact solution satisfies every residual."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from deepinn import ConfigurationError
from deepinn.domains import Circle, Interval, Parallelogram
from deepinn.operators import Field
from deepinn.problems import Problem
from deepinn.samplers import RandomUniformSampler
from deepinn.spaces import R1, R2

from deepinn_example import Annulus, JitteredGridSampler, PointwiseSource
from deepinn_example.constraint import point_source_density, point_source_potential
from deepinn_example.operator import laplacian
from deepinn_example.problem import PoissonAnnulusParams, build_poisson_annulus

SOURCES = [((0.75, 0.0), 1.0), ((-0.6, 0.5), -2.5)]


def make_sampler(domain, n_points):
    return JitteredGridSampler(domain, n_points, seed=n_points)


@pytest.fixture(autouse=True)
def float64():
    """Samplers return points in torch's default dtype: make it float64 for tight checks."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _residuals(problem: Problem, exact) -> dict[str, torch.Tensor]:
    """Each constraint's residual when the network is replaced by ``exact``."""
    out = {}
    for constraint in problem.constraints:
        batch = constraint.sample(torch.Generator().manual_seed(0))
        assert batch["x"].dtype == torch.float64
        field = Field(exact, batch["x"], problem.space, mode="reverse")
        out[constraint.name] = constraint.checked_residual(field, batch).detach()
    return out


def test_potential_solves_poisson_with_the_density() -> None:
    x = torch.rand(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    x.requires_grad_(True)
    u = point_source_potential(x, SOURCES, 0.1)
    assert torch.allclose(
        -laplacian(u, x), point_source_density(x.detach(), SOURCES, 0.1), rtol=1e-9, atol=1e-9
    )


def test_density_integrates_to_the_strength() -> None:
    # polar quadrature around the source: int_0^R (1/pi) eps^2 / (r^2 + eps^2)^2 2 pi r dr -> 1
    r = torch.linspace(0, 50, 200001, dtype=torch.float64)
    x = torch.stack([r + 0.75, torch.zeros_like(r)], dim=1)
    density = point_source_density(x, [((0.75, 0.0), 1.0)], 0.1)[:, 0]
    assert float(torch.trapezoid(density * 2 * math.pi * r, r)) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    "domain",
    [
        Annulus(R2("x")),
        Circle(R2("x"), [0.5, 0.5], 0.5),
        Parallelogram(R2("y"), [0, 0], [2, 0], [0, 1]),
    ],
    ids=["annulus", "circle", "rectangle"],
)
def test_exact_solution_satisfies_every_residual(domain) -> None:
    problem = build_poisson_annulus(
        PoissonAnnulusParams(n_interior=300, n_boundary=100), domain, make_sampler
    )
    assert problem.domain is domain and problem.name == "poisson_annulus"
    residuals = _residuals(problem, problem.exact)
    assert set(residuals) == {"pde", "boundary"}
    for name, residual in residuals.items():
        assert float(residual.abs().max()) < 1e-8, name


def test_a_wrong_solution_does_not() -> None:
    problem = build_poisson_annulus(PoissonAnnulusParams(), Annulus(R2("x")), make_sampler)
    residuals = _residuals(problem, lambda x: 0.9 * problem.exact(x))
    assert (
        float(residuals["pde"].abs().max()) > 1e-2
        and float(residuals["boundary"].abs().max()) > 1e-3
    )


def test_own_domain_ignores_the_chosen_one() -> None:
    params = PoissonAnnulusParams(own_domain=True, n_interior=10, n_boundary=10)
    problem = build_poisson_annulus(params, Interval(R1("x"), 0, 1), make_sampler)
    assert isinstance(problem.domain, Annulus) and problem.domain.volume == pytest.approx(
        math.pi * 0.75
    )


def test_needs_a_two_dimensional_domain() -> None:
    with pytest.raises(ConfigurationError, match="needs a 2-D domain"):
        build_poisson_annulus(PoissonAnnulusParams(), Interval(R1("x"), 0, 1), make_sampler)


def test_sources_weights_and_pickling() -> None:
    params = PoissonAnnulusParams(sources=[[0, 0, 2]], width=0.05, weights={"boundary": 10.0})
    problem = build_poisson_annulus(params, Annulus(R2("x")), make_sampler)
    pde = problem.constraints[0]
    assert (
        isinstance(pde, PointwiseSource)
        and pde.sources == [([0.0, 0.0], 2.0)]
        and pde.width == 0.05
    )
    assert problem.constraints[1].weight == 10.0
    clone = pickle.loads(pickle.dumps(problem))  # ddp_spawn pickles the problem
    x = torch.tensor([[0.7, 0.1]], dtype=torch.float64)
    assert torch.equal(clone.exact(x), problem.exact(x))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"sources": []}, "at least one"),
        ({"sources": [[0, 0]]}, r"\[x, y, strength\]"),
        ({"sources": [["a", 0, 1]]}, "list of"),
        ({"width": 0.0}, "width"),
        ({"n_interior": 0}, "n_interior"),
    ],
)
def test_bad_parameters(params: dict, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        PoissonAnnulusParams(**params)


def test_constraint_needs_a_two_dimensional_sampler() -> None:
    with pytest.raises(ConfigurationError, match="posed in 2-D"):
        PointwiseSource("pde", RandomUniformSampler(Interval(R1("x"), 0, 1), 5), SOURCES, 0.1)
