"""Forward Laplacian: values, gradients and Hessian diagonals equal nested autograd (float64)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.nn import ACTIVATIONS, FourierFeatureNet, FullyConnected, SupportsForwardDerivatives
from deepinn.nn._activations import get_activation

TOL = {"rtol": 1e-10, "atol": 1e-10}
BOUNDS = ([0.0, -1.0, 0.5], [2.0, 3.0, 1.5])


def _autograd(net: torch.nn.Module, x: torch.Tensor, second: list[bool]):
    """(u, du, d2u) by nested reverse mode, d2u zero where not marked; graph kept."""
    x = x.detach().requires_grad_(True)
    u = net(x)
    n, d = x.shape
    k = u.shape[1]
    du = torch.stack(
        [torch.autograd.grad(u[:, j].sum(), x, create_graph=True)[0] for j in range(k)], dim=1
    )
    columns = []
    for j, i in itertools.product(range(k), range(d)):
        if second[i]:
            (hess_row,) = torch.autograd.grad(
                du[:, j, i].sum(), x, create_graph=True, materialize_grads=True
            )
            columns.append(hess_row[:, i])
        else:
            columns.append(torch.zeros(n, dtype=x.dtype))
    d2u = torch.stack(columns, dim=1).reshape(n, k, d)
    return u, du, d2u


def _grads(loss: torch.Tensor, params: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    return torch.autograd.grad(loss, params, materialize_grads=True)


def _net(activation: str, bounds: bool, seed: int = 0) -> FullyConnected:
    torch.manual_seed(seed)
    return FullyConnected(
        [3, 12, 10, 2],
        activation=activation,
        bounds=BOUNDS if bounds else None,
        dtype=torch.float64,
    )


def _points(n: int = 9, d: int = 3, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, dtype=torch.float64, generator=generator) * 2 - 0.5


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bounds", [False, True], ids=["raw", "bounds"])
def test_derivatives_equal_autograd(activation: str, bounds: bool) -> None:
    net, x = _net(activation, bounds), _points()
    u, du, d2u = net.forward_derivatives(x, torch.ones(3, dtype=torch.bool))
    u_ref, du_ref, d2u_ref = _autograd(net, x, [True, True, True])
    torch.testing.assert_close(u, u_ref, **TOL)
    torch.testing.assert_close(du, du_ref, **TOL)
    torch.testing.assert_close(d2u, d2u_ref, **TOL)


@pytest.mark.parametrize("second", [(True, True, False), (False, True, True), (True, False, True)])
@pytest.mark.parametrize("activation", ["tanh", "gelu"])
def test_only_marked_coordinates_get_second_derivatives(
    second: tuple[bool, ...], activation: str
) -> None:
    net, x = _net(activation, bounds=True), _points()
    _u, du, d2u = net.forward_derivatives(x, second)
    _, du_ref, d2u_ref = _autograd(net, x, list(second))
    torch.testing.assert_close(du, du_ref, **TOL)
    torch.testing.assert_close(d2u, d2u_ref, **TOL)
    unmarked = [i for i, flag in enumerate(second) if not flag]
    assert torch.count_nonzero(d2u[:, :, unmarked]) == 0


def test_time_dependent_problem_marks_x_not_t() -> None:
    torch.manual_seed(0)
    net = FullyConnected([2, 16, 16, 1], bounds=([0.0, 0.0], [1.0, 2.0]), dtype=torch.float64)
    x = _points(d=2)  # columns (x, t)
    _u, _du, d2u = net.forward_derivatives(x, torch.tensor([True, False]))
    _, _du_ref, d2u_ref = _autograd(net, x, [True, False])
    torch.testing.assert_close(d2u, d2u_ref, **TOL)
    assert torch.count_nonzero(d2u[:, 0, 1]) == 0


def test_no_marked_coordinate_gives_zero_second_derivatives() -> None:
    net, x = _net("tanh", True), _points()
    _u, du, d2u = net.forward_derivatives(x, [False, False, False])
    _, du_ref, _ = _autograd(net, x, [False] * 3)
    torch.testing.assert_close(du, du_ref, **TOL)
    assert d2u.shape == (9, 2, 3) and torch.count_nonzero(d2u) == 0


def test_default_marks_every_coordinate() -> None:
    net, x = _net("sin", False), _points()
    _, _, d2u = net.forward_derivatives(x)
    _, _, d2u_ref = _autograd(net, x, [True] * 3)
    torch.testing.assert_close(d2u, d2u_ref, **TOL)


def test_network_without_hidden_layer_is_linear() -> None:
    net = FullyConnected([3, 2], bounds=BOUNDS, dtype=torch.float64)
    x = _points()
    _u, du, d2u = net.forward_derivatives(x)
    _, du_ref, _ = _autograd(net, x, [True] * 3)
    torch.testing.assert_close(du, du_ref, **TOL)
    assert torch.count_nonzero(d2u) == 0


@pytest.mark.parametrize("activation", ["tanh", "sin", "silu", "gelu"])
def test_parameter_gradients_of_a_second_order_loss_equal_autograd(activation: str) -> None:
    net, x = _net(activation, bounds=True), _points()
    params = list(net.parameters())
    second = (True, True, False)

    def loss(u: torch.Tensor, du: torch.Tensor, d2u: torch.Tensor) -> torch.Tensor:
        residual = d2u.sum(dim=2) - du[:, :, 2] + u**2
        return (residual**2).mean()

    grads = _grads(loss(*net.forward_derivatives(x, second)), params)
    grads_ref = _grads(loss(*_autograd(net, x, list(second))), params)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, g_ref, **TOL)


def test_results_are_differentiable_in_x_for_mixed_partials() -> None:
    net, x = _net("tanh", bounds=True), _points()
    x = x.requires_grad_(True)
    _, du, _ = net.forward_derivatives(x, (True, True, True))
    (mixed,) = torch.autograd.grad(du[:, 0, 0].sum(), x, create_graph=True)
    (du_ref,) = torch.autograd.grad(net(x)[:, 0].sum(), x, create_graph=True)
    (mixed_ref,) = torch.autograd.grad(du_ref[:, 0].sum(), x, create_graph=True)
    torch.testing.assert_close(mixed, mixed_ref, **TOL)
    params = list(net.parameters())
    grads = _grads(mixed[:, 1].pow(2).sum(), params)
    grads_ref = _grads(mixed_ref[:, 1].pow(2).sum(), params)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, g_ref, **TOL)


@pytest.mark.parametrize("second", [None, (True, True, False), (True, False, True), (False,) * 3])
def test_forward_laplacian_sums_the_marked_second_derivatives(second) -> None:
    net, x = _net("gelu", bounds=True), _points()
    u, du, lap = net.forward_laplacian(x, second)
    u_ref, du_ref, d2u_ref = net.forward_derivatives(x, second)
    torch.testing.assert_close(u, u_ref, **TOL)
    torch.testing.assert_close(du, du_ref, **TOL)
    torch.testing.assert_close(lap, d2u_ref.sum(dim=2), **TOL)


def test_forward_laplacian_trains_like_autograd() -> None:
    net, x = _net("tanh", bounds=True), _points()
    params = list(net.parameters())
    _, _, lap = net.forward_laplacian(x)
    _, _, d2u_ref = _autograd(net, x, [True] * 3)
    grads = _grads((lap**2).sum(), params)
    grads_ref = _grads((d2u_ref.sum(dim=2) ** 2).sum(), params)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, g_ref, **TOL)


@pytest.mark.parametrize("bounds", [False, True], ids=["raw", "bounds"])
def test_fourier_network_derivatives_equal_autograd(bounds: bool) -> None:
    torch.manual_seed(0)
    net = FourierFeatureNet(
        [3, 10, 2],
        n_features=6,
        sigma=0.7,
        bounds=BOUNDS if bounds else None,
        dtype=torch.float64,
    )
    x = _points()
    second = (True, False, True)
    u, du, d2u = net.forward_derivatives(x, second)
    u_ref, du_ref, d2u_ref = _autograd(net, x, list(second))
    torch.testing.assert_close(u, u_ref, **TOL)
    torch.testing.assert_close(du, du_ref, **TOL)
    torch.testing.assert_close(d2u, d2u_ref, **TOL)
    _, _, lap = net.forward_laplacian(x, second)
    torch.testing.assert_close(lap, d2u_ref.sum(dim=2), **TOL)


def test_networks_satisfy_the_protocol() -> None:
    assert isinstance(FullyConnected([2, 4, 1]), SupportsForwardDerivatives)
    assert isinstance(FourierFeatureNet([2, 4, 1], n_features=3), SupportsForwardDerivatives)
    assert not isinstance(torch.nn.Linear(2, 1), SupportsForwardDerivatives)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_analytic_activation_derivatives_equal_autograd(name: str) -> None:
    activation = get_activation(name)
    z = torch.linspace(-4, 4, 101, dtype=torch.float64).requires_grad_(True)
    value = activation(z)
    (d1,) = torch.autograd.grad(value.sum(), z, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), z, allow_unused=True, materialize_grads=True)
    s, s1, s2 = activation.derivatives(z.detach())
    torch.testing.assert_close(s, value.detach(), **TOL)
    torch.testing.assert_close(s1, d1.detach(), **TOL)
    torch.testing.assert_close(s2, d2, **TOL)


def test_x_of_the_wrong_shape_is_a_shape_error() -> None:
    net = _net("tanh", False)
    with pytest.raises(ShapeError, match=r"\(N, 3\), got \(9, 2\)"):
        net.forward_derivatives(torch.rand(9, 2, dtype=torch.float64))
    with pytest.raises(ShapeError, match=r"\(N, 3\), got \(3,\)"):
        net.forward_derivatives(torch.rand(3, dtype=torch.float64))


def test_second_of_the_wrong_length_is_a_shape_error() -> None:
    with pytest.raises(ShapeError, match="2 flags but the input has 3 coordinates"):
        _net("tanh", False).forward_derivatives(_points(), [True, False])


def test_second_accepts_numpy_bools() -> None:
    net, x = _net("tanh", False), _points()
    _, _, d2u = net.forward_derivatives(x, np.array([True, False, True]))
    _, _, d2u_ref = net.forward_derivatives(x, (True, False, True))
    torch.testing.assert_close(d2u, d2u_ref, rtol=0, atol=0)


def test_second_must_hold_bools() -> None:
    with pytest.raises(ConfigurationError, match="bool tensor"):
        _net("tanh", False).forward_derivatives(_points(), torch.tensor([1, 0, 1]))
    with pytest.raises(ConfigurationError, match="hold bools"):
        _net("tanh", False).forward_derivatives(_points(), [1, 0, 1])
