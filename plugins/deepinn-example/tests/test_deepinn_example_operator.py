"""biharmonic against closed forms, as values or as a function."""

from __future__ import annotations

import pytest
import torch
from deepinn import ConfigurationError, ShapeError

from deepinn_example.operator import BiharmonicParams, biharmonic, build_biharmonic, laplacian


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(
        20, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    ).requires_grad_(True)


def test_of_r_to_the_fourth_is_64(x: torch.Tensor) -> None:
    u = x.square().sum(dim=1, keepdim=True).square()  # r^4: lap = 16 r^2, lap lap = 64
    assert torch.allclose(biharmonic(u, x), torch.full((20, 1), 64.0, dtype=torch.float64))


def test_of_a_harmonic_function_is_zero(x: torch.Tensor) -> None:
    u = torch.exp(x[:, :1]) * torch.cos(x[:, 1:])
    assert torch.allclose(laplacian(u, x), torch.zeros(20, 1, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(biharmonic(u, x), torch.zeros(20, 1, dtype=torch.float64), atol=1e-10)


def test_of_a_function_and_by_columns(x: torch.Tensor) -> None:
    op = build_biharmonic(BiharmonicParams(columns=[0]))

    def u(z):
        return z[:, :1] ** 4 + z[:, 1:] ** 4

    assert torch.allclose(op(u, x.detach()), torch.full((20, 1), 24.0, dtype=torch.float64))
    assert torch.allclose(
        build_biharmonic(BiharmonicParams())(u, x), torch.full((20, 1), 48.0, dtype=torch.float64)
    )


def test_of_a_network_is_differentiable(x: torch.Tensor) -> None:
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).double()
    value = biharmonic(net, x.detach()).square().mean()
    value.backward()
    assert net[0].weight.grad is not None and bool(torch.isfinite(net[0].weight.grad).all())


def test_low_degree_polynomials_give_zeros(x: torch.Tensor) -> None:
    assert torch.equal(biharmonic(x[:, :1] ** 2, x), torch.zeros(20, 1, dtype=torch.float64))


def test_errors(x: torch.Tensor) -> None:
    with pytest.raises(ShapeError, match="one output column"):
        biharmonic(x**2, x)
    with pytest.raises(ConfigurationError, match="requires_grad_"):
        biharmonic(torch.ones(3, 1), torch.ones(3, 2))
    with pytest.raises(ConfigurationError, match="out of range"):
        biharmonic(x[:, :1] ** 4, x, columns=[2])
