"""The derivative cache: one torch.autograd.grad call per (column, input) pair."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from deepinn.operators import DerivativeCache, grad, hessian, jacobian, laplacian, partial


@pytest.fixture
def grad_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count torch.autograd.grad calls (the module attribute the operators call)."""
    calls: list[int] = []
    original: Callable[..., object] = torch.autograd.grad

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    return calls


def _setup() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(6, 3, dtype=torch.float64, requires_grad=True)
    u = (x**2).prod(dim=1, keepdim=True) + torch.sin(x).sum(dim=1, keepdim=True)
    return u, x


def test_first_derivatives_share_one_backward(grad_calls: list[int]) -> None:
    u, x = _setup()
    cache = DerivativeCache()
    grad(u, x, cache=cache)
    partial(u, x, 0, cache=cache)
    partial(u, x, 2, cache=cache)
    assert len(grad_calls) == 1


def test_grad_partial_laplacian_cost_one_plus_one_per_column(grad_calls: list[int]) -> None:
    u, x = _setup()
    cache = DerivativeCache()
    grad(u, x, cache=cache)
    partial(u, x, 1, cache=cache)
    laplacian(u, x, cache=cache)
    assert len(grad_calls) == 1 + 3
    assert cache.calls == 4


def test_hessian_reuses_the_laplacian_backward_passes(grad_calls: list[int]) -> None:
    u, x = _setup()
    cache = DerivativeCache()
    laplacian(u, x, cache=cache)
    hessian(u, x, cache=cache)
    partial(u, x, 0, 2, cache=cache)
    assert len(grad_calls) == 1 + 3


def test_laplacian_over_some_columns_differentiates_only_those(grad_calls: list[int]) -> None:
    u, x = _setup()
    laplacian(u, x, [1, 2])
    assert len(grad_calls) == 1 + 2


def test_jacobian_costs_one_backward_per_output(grad_calls: list[int]) -> None:
    x = torch.rand(6, 3, dtype=torch.float64, requires_grad=True)
    jacobian(torch.cat([x**2, x.sum(1, keepdim=True)], dim=1), x)
    assert len(grad_calls) == 4


def test_without_a_shared_cache_each_call_differentiates_again(grad_calls: list[int]) -> None:
    u, x = _setup()
    grad(u, x)
    grad(u, x)
    assert len(grad_calls) == 2


def test_the_cache_returns_the_same_tensor() -> None:
    u, x = _setup()
    cache = DerivativeCache()
    assert cache.column_grad(u, 0, x) is cache.column_grad(u, 0, x)
    assert len(cache) == 1


def test_the_cache_keeps_its_tensors_alive_so_ids_stay_valid() -> None:
    x = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
    cache = DerivativeCache()
    first = cache.column_grad((x**2).sum(1), 0, x)
    second = cache.column_grad((x**3).sum(1), 0, x)  # a new temporary: must not hit the first
    torch.testing.assert_close(first, 2 * x.detach())
    torch.testing.assert_close(second, 3 * x.detach() ** 2)


def test_clear_forgets_everything(grad_calls: list[int]) -> None:
    u, x = _setup()
    cache = DerivativeCache()
    grad(u, x, cache=cache)
    cache.clear()
    grad(u, x, cache=cache)
    assert len(cache) == 1 and len(grad_calls) == 2
