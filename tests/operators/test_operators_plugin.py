"""The operators' built-in plugin: registrations, schemas and mode validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from deepinn import ConfigurationError
from deepinn.operators import _plugin
from deepinn.plugins import Registry, load_registry

NAMES = ["divergence", "grad", "hessian", "jacobian", "laplacian", "partial"]
TOL = {"atol": 1e-10, "rtol": 1e-10}


@pytest.fixture
def operators() -> Registry:
    """A registry holding only this plugin (no entry points, no other built-ins)."""
    return load_registry(strict=True, builtins=False, plugins=[_plugin], entry_points=[])


def _x() -> torch.Tensor:
    return torch.rand(5, 2, dtype=torch.float64, requires_grad=True)


def test_every_operator_is_registered(operators: Registry) -> None:
    assert operators.names("operators") == NAMES


def test_schemas_are_dataclasses_with_defaults(operators: Registry) -> None:
    for registration in operators.registrations("operators"):
        assert dataclasses.is_dataclass(registration.schema)
        registration.schema()  # every field has a default


def test_registered_laplacian_computes_in_both_modes(operators: Registry) -> None:
    x = _x()

    def f(z):
        return (z**3).sum(dim=1, keepdim=True)

    expected = 6 * x.detach().sum(dim=1, keepdim=True)
    for mode in ("reverse", "forward"):
        op = operators.build("operators", "laplacian", {"mode": mode})
        torch.testing.assert_close(op(f, x), expected, **TOL)
    torch.testing.assert_close(operators.build("operators", "laplacian")(f(x), x), expected, **TOL)


def test_registered_partial_uses_its_columns(operators: Registry) -> None:
    x = _x()
    u = x[:, 0:1] ** 2 * x[:, 1:2]
    op = operators.build("operators", "partial", {"columns": [0, 1]})
    torch.testing.assert_close(op(u, x), 2 * x[:, 0:1].detach(), **TOL)


def test_registered_first_order_operators(operators: Registry) -> None:
    x = _x()
    gradient = operators.build("operators", "grad")((x**2).sum(1), x)
    torch.testing.assert_close(gradient, 2 * x.detach())
    assert operators.build("operators", "jacobian")(x**2, x).shape == (5, 2, 2)
    div = operators.build("operators", "divergence", {"columns": [1]})
    torch.testing.assert_close(div(x[:, 1:2] ** 2, x), 2 * x[:, 1:2].detach())


def test_registered_hessian_forward_matches_reverse(operators: Registry) -> None:
    x = _x()

    def f(z):
        return torch.sin(z[:, :1]) * z[:, 1:] ** 2

    forward = operators.build("operators", "hessian", {"mode": "forward"})(f, x)
    torch.testing.assert_close(forward, operators.build("operators", "hessian")(f, x), **TOL)


@pytest.mark.parametrize("name", ["laplacian", "hessian"])
def test_unknown_mode_is_a_configuration_error(operators: Registry, name: str) -> None:
    message = rf"operators.{name}.mode='fwd' is not one of \['reverse', 'forward'\]"
    with pytest.raises(ConfigurationError, match=message):
        operators.build("operators", name, {"mode": "fwd"})


def test_forward_mode_needs_the_function(operators: Registry) -> None:
    x = _x()
    op = operators.build("operators", "laplacian", {"mode": "forward"})
    with pytest.raises(ConfigurationError, match=r"needs the function .* not its values"):
        op((x**2).sum(1, keepdim=True), x)
