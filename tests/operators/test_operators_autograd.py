"""Functional reverse-mode operators against analytic derivatives (float64, 1e-10)."""

from __future__ import annotations

import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.operators import divergence, grad, hessian, jacobian, laplacian, partial

TOL = {"atol": 1e-10, "rtol": 1e-10}


def _points(n: int = 7, d: int = 2, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=generator, dtype=torch.float64).requires_grad_(True)


def _u(x: torch.Tensor) -> torch.Tensor:
    """u = x0^2 x1 + sin(x0) exp(x1), shape (N, 1)."""
    x0, x1 = x[:, 0:1], x[:, 1:2]
    return x0**2 * x1 + torch.sin(x0) * torch.exp(x1)


def _analytic(x: torch.Tensor) -> dict[str, torch.Tensor]:
    x0, x1 = x[:, 0:1].detach(), x[:, 1:2].detach()
    s, c, e = torch.sin(x0), torch.cos(x0), torch.exp(x1)
    return {
        "u0": 2 * x0 * x1 + c * e,
        "u1": x0**2 + s * e,
        "u00": 2 * x1 - s * e,
        "u11": s * e,
        "u01": 2 * x0 + c * e,
    }


def test_grad_of_sin_exp_polynomial() -> None:
    x = _points()
    a = _analytic(x)
    torch.testing.assert_close(grad(_u(x), x), torch.cat([a["u0"], a["u1"]], 1), **TOL)


def test_grad_accepts_flat_outputs() -> None:
    x = _points()
    a = _analytic(x)
    torch.testing.assert_close(grad(_u(x)[:, 0], x)[:, 1:2], a["u1"], **TOL)


def test_partial_second_and_mixed() -> None:
    x = _points()
    a = _analytic(x)
    u = _u(x)
    torch.testing.assert_close(partial(u, x, 0), a["u0"], **TOL)
    torch.testing.assert_close(partial(u, x, 0, 0), a["u00"], **TOL)
    torch.testing.assert_close(partial(u, x, 0, 1), a["u01"], **TOL)
    torch.testing.assert_close(partial(u, x, 1, 0), a["u01"], **TOL)


def test_partial_third_order() -> None:
    x = _points()
    u = x[:, 0:1] ** 3 * x[:, 1:2] ** 2
    expected = 12 * x[:, 0:1] * x[:, 1:2]
    torch.testing.assert_close(partial(u, x, 0, 0, 1), expected.detach(), **TOL)


def test_partial_without_columns_is_the_value() -> None:
    x = _points()
    u = _u(x)
    torch.testing.assert_close(partial(u, x), u, **TOL)


def test_hessian_and_laplacian() -> None:
    x = _points()
    a = _analytic(x)
    u = _u(x)
    expected = torch.stack(
        [torch.cat([a["u00"], a["u01"]], 1), torch.cat([a["u01"], a["u11"]], 1)], dim=1
    )
    torch.testing.assert_close(hessian(u, x), expected, **TOL)
    torch.testing.assert_close(laplacian(u, x), 2 * x[:, 1:2].detach(), **TOL)
    torch.testing.assert_close(laplacian(u, x, [1]), a["u11"], **TOL)


def test_divergence_of_a_vector_field() -> None:
    x = _points(d=3)
    x0, x1, x2 = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    v = torch.cat([x0**2 * x1, x1 * x2**3, torch.exp(x0) * x2], dim=1)
    expected = 2 * x0 * x1 + x2**3 + torch.exp(x0)
    torch.testing.assert_close(divergence(v, x), expected.detach(), **TOL)


def test_divergence_over_chosen_columns() -> None:
    x = _points(d=3)
    v = torch.cat([x[:, 1:2] ** 2, x[:, 2:3] * x[:, 0:1]], dim=1)  # components along x1, x2
    expected = (2 * x[:, 1:2] + x[:, 0:1]).detach()
    torch.testing.assert_close(divergence(v, x, [1, 2]), expected, **TOL)


def _net() -> torch.nn.Module:
    torch.manual_seed(3)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)
    ).double()


def test_jacobian_of_a_multi_output_network_matches_jacrev() -> None:
    net, x = _net(), _points(n=5, d=3)
    expected = torch.func.vmap(torch.func.jacrev(net))(x.detach())
    torch.testing.assert_close(jacobian(net(x), x), expected, **TOL)


def test_hessian_of_a_network_output_matches_torch_func() -> None:
    net, x = _net(), _points(n=5, d=3)
    expected = torch.func.vmap(torch.func.hessian(lambda z: net(z)[1]))(x.detach())
    torch.testing.assert_close(hessian(net(x)[:, 1:2], x), expected, **TOL)


def test_results_keep_their_graph_for_training() -> None:
    net, x = _net(), _points(n=5, d=3)
    loss = laplacian(net(x)[:, 0:1], x).pow(2).mean()
    assert loss.grad_fn is not None
    loss.backward()
    assert net[0].weight.grad is not None and net[0].weight.grad.abs().sum() > 0


def test_derivative_of_a_linear_function_is_constant_and_second_is_zero() -> None:
    x = _points()
    u = 3 * x[:, 0:1] - x[:, 1:2]
    torch.testing.assert_close(grad(u, x), torch.tensor([[3.0, -1.0]]).double().expand(7, 2))
    torch.testing.assert_close(laplacian(u, x), torch.zeros(7, 1, dtype=torch.float64))


def test_one_point_input_gives_the_plain_gradient() -> None:
    x = torch.tensor([0.3, 0.7, 1.1], dtype=torch.float64, requires_grad=True)
    u = (x[0] * x[1] ** 2 + torch.sin(x[2])).reshape(1)
    g = grad(u, x)
    assert g.shape == (3,)
    expected = torch.stack([x[1] ** 2, 2 * x[0] * x[1], torch.cos(x[2])]).detach()
    torch.testing.assert_close(g, expected, **TOL)


def test_one_point_input_second_derivatives() -> None:
    x = torch.tensor([0.3, 0.7, 1.1], dtype=torch.float64, requires_grad=True)
    u = (x[0] * x[1] ** 2 + torch.sin(x[2])).reshape(1)
    h = hessian(u, x)
    assert h.shape == (3, 3)
    expected = torch.tensor(
        [[0, 2 * 0.7, 0], [2 * 0.7, 2 * 0.3, 0], [0, 0, -torch.sin(torch.tensor(1.1)).item()]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(h, expected, atol=1e-7, rtol=0)
    torch.testing.assert_close(laplacian(u, x), (2 * x[0] - torch.sin(x[2])).reshape(1).detach())
    assert partial(u, x, 0, 1).shape == (1,)


def test_one_point_network_gradient_has_the_input_shape() -> None:
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    g = grad(net(x), x)
    assert g.shape == (2,)
    torch.testing.assert_close(g, net.weight.detach()[0])


def test_elementwise_one_dimensional_input() -> None:
    x = torch.linspace(0, 1, 9, dtype=torch.float64, requires_grad=True)
    u = torch.sin(x)
    torch.testing.assert_close(grad(u, x), torch.cos(x).detach(), **TOL)
    torch.testing.assert_close(partial(u, x, 0, 0), -torch.sin(x).detach(), **TOL)
    torch.testing.assert_close(laplacian(u, x), -torch.sin(x).detach(), **TOL)


def test_multi_output_grad_is_a_shape_error() -> None:
    net, x = _net(), _points(n=5, d=3)
    with pytest.raises(ShapeError, match=r"one output column.*u\[:, i:i\+1\]"):
        grad(net(x), x)


def test_column_out_of_range_is_a_shape_error() -> None:
    x = _points()
    with pytest.raises(ShapeError, match=r"column 2 is out of range.*0\.\.1"):
        partial(_u(x), x, 2)


def test_non_int_column_is_a_configuration_error() -> None:
    x = _points()
    with pytest.raises(ConfigurationError, match="'x0' must be an int column index"):
        partial(_u(x), x, "x0")  # type: ignore[arg-type]


def test_repeated_laplacian_columns_are_rejected() -> None:
    x = _points()
    with pytest.raises(ConfigurationError, match="repeats a column"):
        laplacian(_u(x), x, [0, 0])


def test_input_without_grad_is_a_configuration_error() -> None:
    x = _points().detach()
    with pytest.raises(ConfigurationError, match=r"does not require grad.*requires_grad_"):
        grad(_u(x), x)


def test_rows_mismatch_is_a_shape_error() -> None:
    x = _points()
    with pytest.raises(ShapeError, match=r"u has shape \(3, 1\).*one row per point"):
        grad(_u(x)[:3], x)


def test_divergence_component_count_must_match() -> None:
    x = _points(d=3)
    with pytest.raises(ShapeError, match=r"v has 2 component.*3 coordinate"):
        divergence(x[:, :2] ** 2, x)


def test_three_dimensional_input_is_rejected() -> None:
    x = torch.rand(2, 2, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ShapeError, match=r"x has shape \(2, 2, 2\)"):
        grad(x.sum(), x)
