"""The failure-mode suite (convection, reaction, wave_rathore): exact solutions checked by hand.

The library test checks every constraint through the problem; here each closed form is checked
against its PDE written out with plain autograd in float64, independently of the operators.
"""

from __future__ import annotations

import math

import pytest
import torch

from deepinn import ConfigurationError
from deepinn.problems import convection_solution, reaction_solution, wave_rathore_solution


def _grid(x_end: float, n: int = 41) -> torch.Tensor:
    x = torch.linspace(0.0, x_end, n, dtype=torch.float64)
    t = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    points = torch.cartesian_prod(x, t)
    return points.requires_grad_(True)


def _derivative(u: torch.Tensor, points: torch.Tensor, column: int) -> torch.Tensor:
    (gradient,) = torch.autograd.grad(u.sum(), points, create_graph=True)
    return gradient[:, column : column + 1]


@pytest.mark.parametrize("beta", [1.0, 30.0, 50.0])
def test_convection_solution_satisfies_the_pde(beta):
    points = _grid(2 * math.pi)
    u = convection_solution(points, beta)
    residual = _derivative(u, points, 1) + beta * _derivative(u, points, 0)
    assert residual.abs().max() < 1e-11 * beta


def test_convection_solution_meets_its_conditions():
    x = torch.linspace(0.0, 2 * math.pi, 17, dtype=torch.float64)
    t = torch.rand(17, dtype=torch.float64)
    start = torch.stack([x, torch.zeros_like(x)], dim=1)
    torch.testing.assert_close(convection_solution(start, 30.0)[:, 0], torch.sin(x))
    left = torch.stack([torch.zeros_like(t), t], dim=1)
    right = torch.stack([torch.full_like(t, 2 * math.pi), t], dim=1)
    torch.testing.assert_close(convection_solution(left, 50.0), convection_solution(right, 50.0))


def test_reaction_solution_satisfies_the_pde_and_conditions():
    points = _grid(2 * math.pi)
    u = reaction_solution(points, 5.0)
    residual = _derivative(u, points, 1) - 5.0 * u * (1.0 - u)
    assert residual.abs().max() < 1e-12
    x = points.detach()[:, 0]
    start = torch.stack([x, torch.zeros_like(x)], dim=1)
    u0 = torch.exp(-((x - math.pi) ** 2) / (2 * (math.pi / 4) ** 2))
    torch.testing.assert_close(reaction_solution(start, 5.0)[:, 0], u0)
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    left = torch.stack([torch.zeros_like(t), t], dim=1)
    right = torch.stack([torch.full_like(t, 2 * math.pi), t], dim=1)
    torch.testing.assert_close(reaction_solution(left, 5.0), reaction_solution(right, 5.0))


def test_wave_rathore_solution_satisfies_the_pde_and_conditions():
    points = _grid(1.0)
    u = wave_rathore_solution(points)
    u_x, u_t = _derivative(u, points, 0), _derivative(u, points, 1)
    u_xx, u_tt = _derivative(u_x, points, 0), _derivative(u_t, points, 1)
    assert (u_tt - 4.0 * u_xx).abs().max() < 1e-10
    start = points.detach().clone()
    start[:, 1] = 0.0
    start.requires_grad_(True)
    s = start.detach()[:, 0:1]
    initial = torch.sin(math.pi * s) + 0.5 * torch.sin(4 * math.pi * s)
    torch.testing.assert_close(wave_rathore_solution(start.detach()), initial)
    assert _derivative(wave_rathore_solution(start), start, 1).abs().max() < 1e-12
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    for end in (0.0, 1.0):
        edge = torch.stack([torch.full_like(t, end), t], dim=1)
        assert wave_rathore_solution(edge).abs().max() < 1e-12


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("convection", {"beta": 0.0}, "beta = 0.0"),
        ("reaction", {"rho": -1.0}, "rho = -1.0"),
        ("wave_rathore", {"n_interior": 0}, "n_interior = 0"),
    ],
)
def test_bad_parameters_are_refused(registry, name, params, match):
    with pytest.raises(ConfigurationError, match=match):
        registry.params("problems", name, params)
