"""The seed notebook's Jacobian(X, y)(i, j) (deepinn.notebook), with its printed values."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.notebook import Jacobian
from deepinn.operators import DerivativeCache


@pytest.fixture
def grad_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original: Callable[..., object] = torch.autograd.grad

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    return calls


def test_seed_scalar_first_derivative() -> None:
    x = torch.tensor([2.0], requires_grad=True)
    y = x**2 + 1
    jacobian = Jacobian(x, y)(0, 0)
    torch.testing.assert_close(jacobian, torch.tensor([4.0]))
    assert jacobian.shape == (1,) and jacobian.grad_fn is not None


def test_seed_scalar_second_derivative_by_composition() -> None:
    x = torch.tensor([2.0], requires_grad=True)
    first = Jacobian(x, x**2 + 1)(0, 0)
    second = Jacobian(x, first)(0, 0)
    torch.testing.assert_close(second, torch.tensor([2.0]))
    assert second.shape == (1,) and second.grad_fn is not None


def test_seed_one_point_network_returns_the_full_gradient() -> None:
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    X = torch.tensor([1.0, 2.0], requires_grad=True)  # the seed's name
    y = net(X)
    expected = torch.autograd.grad(y, X, retain_graph=True)[0]
    jacobian = Jacobian(X, y)(0, 0)
    assert jacobian.shape == (2,) and jacobian.grad_fn is not None
    torch.testing.assert_close(jacobian, expected)
    torch.testing.assert_close(Jacobian(X, y)(0, 1), expected)  # j is ignored for a 1-D X


def _sin_of_two_by_two() -> Jacobian:
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    return Jacobian(X, torch.sin(X))


def test_seed_elementwise_sin_gives_the_true_entries() -> None:
    jacobian = _sin_of_two_by_two()
    torch.testing.assert_close(
        jacobian(0, 0), torch.tensor([[0.5403], [-0.9900]]), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(jacobian(0, 1), torch.zeros(2, 1))  # the seed printed column 1 here
    torch.testing.assert_close(
        jacobian(1, 1), torch.tensor([[-0.4161], [-0.6536]]), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(jacobian(1, 0), torch.zeros(2, 1))


def test_entries_are_true_derivatives_of_each_output() -> None:
    X = torch.rand(5, 2, dtype=torch.float64, requires_grad=True)
    y = torch.cat([X[:, :1] * X[:, 1:] ** 2, torch.exp(X[:, :1])], dim=1)
    jacobian = Jacobian(X, y)
    x0, x1 = X[:, :1].detach(), X[:, 1:].detach()
    torch.testing.assert_close(jacobian(0, 0), x1**2, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(jacobian(0, 1), 2 * x0 * x1, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(jacobian(1, 0), torch.exp(x0), atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(jacobian(1, 1), torch.zeros_like(x0))


def test_seed_collocation_points_keyword_call_and_second_derivatives() -> None:
    points = torch.rand(100, 2, generator=torch.Generator().manual_seed(0))
    labels = (points[:, 1] ** 3).unsqueeze(1)
    points.requires_grad = True
    y = (points[:, 0] ** 2).unsqueeze(1) + labels
    jacobian = Jacobian(points, y)
    torch.testing.assert_close(jacobian(i=0, j=0), 2 * points[:, :1].detach())
    zero = jacobian(i=0, j=1)
    assert zero.shape == (100, 1) and not zero.any()
    hessian = Jacobian(points, zero)
    assert not hessian(i=0, j=0).any() and not hessian(i=0, j=1).any()


def test_one_backward_per_output_column(grad_calls: list[int]) -> None:
    jacobian = _sin_of_two_by_two()
    for i in range(2):
        for j in range(2):
            jacobian(i, j)
    assert len(grad_calls) == 2


def test_a_shared_cache_serves_several_jacobians(grad_calls: list[int]) -> None:
    X = torch.rand(4, 2, requires_grad=True)
    y = X**2
    cache = DerivativeCache()
    Jacobian(X, y, cache=cache)(0, 0)
    Jacobian(X, y, cache=cache)(0, 1)
    assert len(grad_calls) == 1


def test_elementwise_one_dimensional_input() -> None:
    x = torch.linspace(0, 1, 5, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(Jacobian(x, x**3)(0, 0), 3 * x.detach() ** 2)


def test_output_index_out_of_range_names_the_range() -> None:
    with pytest.raises(ShapeError, match=r"i=2 is out of range: y has 2 output column\(s\).*0..1"):
        _sin_of_two_by_two()(2, 0)


def test_input_index_out_of_range_names_the_range() -> None:
    with pytest.raises(ShapeError, match=r"j=-1 is out of range: X has 2 input column\(s\)"):
        _sin_of_two_by_two()(0, -1)


def test_non_integer_index_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="i='0' must be an int"):
        _sin_of_two_by_two()("0", 0)  # type: ignore[arg-type]


def test_input_without_grad_is_a_configuration_error() -> None:
    X = torch.rand(3, 2)
    with pytest.raises(ConfigurationError, match="does not require grad"):
        Jacobian(X, X**2)
