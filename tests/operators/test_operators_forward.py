"""Forward-mode operators (nested torch.func.jvp) against reverse mode and analytic values."""

from __future__ import annotations

import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.operators import (
    directional_derivative,
    forward_hessian,
    forward_laplacian,
    hessian,
    laplacian,
)

TOL = {"atol": 1e-10, "rtol": 1e-10}


def _points(n: int = 6, d: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(4)
    return torch.rand(n, d, generator=generator, dtype=torch.float64).requires_grad_(True)


def _u(z: torch.Tensor) -> torch.Tensor:
    return torch.sin(z[:, 0:1]) * torch.exp(z[:, 1:2]) + z[:, 2:3] ** 3 * z[:, 0:1]


def test_forward_laplacian_is_analytic() -> None:
    x = _points()
    x0, x1, x2 = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    expected = -torch.sin(x0) * torch.exp(x1) + torch.sin(x0) * torch.exp(x1) + 6 * x2 * x0
    torch.testing.assert_close(forward_laplacian(_u, x), expected.detach(), **TOL)


def test_forward_laplacian_over_some_columns_matches_reverse() -> None:
    x = _points()
    torch.testing.assert_close(forward_laplacian(_u, x, [0, 2]), laplacian(_u(x), x, [0, 2]), **TOL)


def test_forward_hessian_matches_reverse() -> None:
    x = _points()
    torch.testing.assert_close(forward_hessian(_u, x), hessian(_u(x), x), **TOL)


def test_mixed_directional_derivative() -> None:
    x = _points()
    expected = 3 * x[:, 2:3] ** 2  # d2u / dx0 dx2
    torch.testing.assert_close(directional_derivative(_u, x, [0, 2]), expected.detach(), **TOL)


def test_forward_laplacian_trains_like_reverse() -> None:
    grads = []
    for use_forward in (False, True):
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Linear(3, 10), torch.nn.Tanh(), torch.nn.Linear(10, 1)
        ).double()
        x = _points()
        lap = forward_laplacian(net, x) if use_forward else laplacian(net(x), x)
        lap.square().sum().backward()
        grads.append([p.grad.clone() for p in net[:1].parameters()])
    for reverse, forward in zip(*grads, strict=True):
        torch.testing.assert_close(reverse, forward, **TOL)


def test_multi_output_function_is_rejected_by_forward_laplacian() -> None:
    with pytest.raises(ShapeError, match="one output column; it returned 2"):
        forward_laplacian(lambda z: z[:, :2] ** 2, _points())


def test_forward_operators_need_two_dimensional_points() -> None:
    with pytest.raises(ShapeError, match=r"shape \(N, d\); got \(3,\)"):
        forward_laplacian(_u, torch.rand(3, dtype=torch.float64))


def test_directional_derivative_needs_a_column() -> None:
    with pytest.raises(ConfigurationError, match="at least one column"):
        directional_derivative(_u, _points(), [])
