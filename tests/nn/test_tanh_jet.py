"""The fused tanh lanes equal the plain lane code (float64): values, lanes, gradients, fallback."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch

from deepinn.nn import FourierFeatureNet, FullyConnected, _tanh_jet
from deepinn.nn import _forward_laplacian as fl

TOL = {"rtol": 1e-12, "atol": 1e-12}

CASES = [  # layer sizes, second, summed
    ([2, 8, 8, 8, 1], (True, False), False),  # Burgers-like: u_xx, not u_tt
    ([2, 8, 8, 8, 1], (True, False), True),
    ([3, 6, 7, 2], None, True),  # Laplacian over every coordinate, two outputs
    ([3, 6, 7, 2], None, False),
    ([3, 5, 5, 3], (False, True, True), True),  # t unmarked, Laplacian in (x, y)
    ([3, 5, 5, 3], (False, True, True), False),
    ([3, 5, 4, 1], (False, False, False), False),  # no second derivative at all
    ([1, 6, 6, 1], None, False),  # 1-D input
    ([2, 5, 1], (True, True), False),  # one hidden layer
]


def _plain_lanes(net: FullyConnected, x: torch.Tensor, marked: fl.Marked) -> fl.Lanes:
    """The network's lanes by the plain lane code (the fused path switched off)."""
    original = _tanh_jet.applies
    _tanh_jet.applies = lambda *args: False  # type: ignore[assignment]
    try:
        return net.forward_lanes(fl.input_lanes(x), marked)
    finally:
        _tanh_jet.applies = original  # type: ignore[assignment]


def _full(lane: torch.Tensor, n: int) -> torch.Tensor:
    """A lane tensor with its point dimension expanded to n."""
    return lane.expand(lane.shape[0], n, lane.shape[2]) if lane.dim() == 3 else lane


def _net(sizes: list[int], **options: Any) -> FullyConnected:
    torch.manual_seed(len(sizes) + sum(sizes))
    return FullyConnected(sizes, dtype=torch.float64, **options)


def _weights(lanes: fl.Lanes, n: int) -> list[torch.Tensor | None]:
    torch.manual_seed(1)
    return [None if lane is None else torch.randn_like(_full(lane, n)) for lane in lanes]


def _loss(lanes: fl.Lanes, weights: list[torch.Tensor | None]) -> torch.Tensor:
    total = torch.zeros((), dtype=lanes.value.dtype)
    for lane, weight in zip(lanes, weights, strict=True):
        if lane is not None and weight is not None:
            total = total + (_full(lane, weight.shape[1]) * weight).sum()
    return total


def _compare(net: FullyConnected, x: torch.Tensor, marked: fl.Marked) -> None:
    fused = net.forward_lanes(fl.input_lanes(x), marked)
    assert type(fused.value.grad_fn).__name__ == "_TanhJetBackward"
    plain = _plain_lanes(net, x, marked)
    n = x.shape[0]
    for got, want in zip(fused, plain, strict=True):
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            torch.testing.assert_close(_full(got, n), _full(want, n), **TOL)
    weights = _weights(plain, n)
    inputs = list(net.parameters()) + ([x] if x.requires_grad else [])
    got_grads = torch.autograd.grad(_loss(fused, weights), inputs)
    want_grads = torch.autograd.grad(_loss(plain, weights), inputs)
    for got, want in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(got, want, **TOL)


@pytest.mark.parametrize(("sizes", "second", "summed"), CASES)
@pytest.mark.parametrize("input_grad", [False, True])
def test_lanes_and_gradients_equal_the_plain_lane_code(sizes, second, summed, input_grad) -> None:
    net = _net(sizes)
    x = torch.rand(11, sizes[0], dtype=torch.float64, requires_grad=input_grad)
    marked = fl.marked_coordinates(second, sizes[0], summed)
    _compare(net, x, marked)


@pytest.mark.parametrize("options", [{"bounds": ([0.0, -1.0], [2.0, 3.0])}, {"rwf": (0.5, 0.1)}])
def test_input_normalisation_and_weight_factorisation_are_exact(options) -> None:
    net = _net([2, 6, 6, 2], **options)
    x = torch.rand(9, 2, dtype=torch.float64, requires_grad=True)
    _compare(net, x, fl.marked_coordinates((True, False), 2))


@pytest.mark.parametrize(("second", "summed"), [((True, False, True), False), (None, True)])
def test_gradcheck_and_gradgradcheck_on_a_tiny_network(second, summed) -> None:
    torch.manual_seed(0)
    sizes = [3, 4, 3, 2]
    marked = fl.marked_coordinates(second, 3, summed)
    if marked.window is None:  # a non-contiguous marking is the plain code's: check a window
        marked = fl.marked_coordinates((True, True, False), 3, summed)
    parameters = []
    for a, b in itertools.pairwise(sizes):
        parameters += [
            torch.randn(b, a, dtype=torch.float64, requires_grad=True),
            torch.randn(b, dtype=torch.float64, requires_grad=True),
        ]
    x = torch.rand(5, 3, dtype=torch.float64, requires_grad=True)

    def fn(x: torch.Tensor, *params: torch.Tensor) -> tuple[torch.Tensor, ...]:
        lanes = _tanh_jet.tanh_jet(x, marked, params)
        return tuple(lane for lane in lanes if lane is not None)

    assert torch.autograd.gradcheck(fn, (x, *parameters))
    assert torch.autograd.gradgradcheck(fn, (x, *parameters))


def test_public_derivatives_use_the_fused_lanes_and_equal_autograd() -> None:
    net = _net([2, 8, 8, 1])
    x = torch.rand(7, 2, dtype=torch.float64, requires_grad=True)
    u, du, d2u = net.forward_derivatives(x, (True, False))
    assert type(u.grad_fn).__name__ == "_TanhJetBackward"
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    (hess,) = torch.autograd.grad(grad[:, 0].sum(), x, create_graph=True)
    torch.testing.assert_close(du[:, 0, :], grad, **TOL)
    torch.testing.assert_close(d2u[:, 0, 0], hess[:, 0], **TOL)
    # A mixed partial: the fused gradient lane differentiated in x.
    (mixed,) = torch.autograd.grad(du[:, 0, 0].sum(), x)
    torch.testing.assert_close(mixed[:, 1], hess[:, 1], **TOL)


def _fused_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = _tanh_jet.tanh_jet

    def spy(*args: Any) -> fl.Lanes:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(_tanh_jet, "tanh_jet", spy)
    return calls


@pytest.mark.parametrize(
    "case",
    ["sin", "no hidden layer", "non-contiguous marks", "compiling", "other input lanes", "fourier"],
)
def test_the_plain_lanes_serve_what_the_fused_ones_do_not(monkeypatch, case) -> None:
    calls = _fused_calls(monkeypatch)
    x = torch.rand(4, 3, dtype=torch.float64)
    _net([3, 5, 5, 1]).forward_derivatives(x)
    assert calls == [1]  # the spy sees the fused path where it applies
    calls.clear()
    sizes = [3, 2] if case == "no hidden layer" else [3, 5, 5, 1]
    net = _net(sizes, activation="sin" if case == "sin" else "tanh")
    second = (True, False, True) if case == "non-contiguous marks" else None
    marked = fl.marked_coordinates(second, 3)
    lanes = fl.input_lanes(x)
    if case == "compiling":
        monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    if case == "other input lanes":
        lanes = fl.Lanes(x, lanes.grad.clone(), None)
    if case == "fourier":
        torch.manual_seed(0)
        fourier = FourierFeatureNet([3, 6, 6, 1], n_features=4, dtype=torch.float64)
        fourier.forward_derivatives(x, second)
    else:
        net.forward_lanes(lanes, marked)
    assert calls == []


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_keeps_the_plain_lanes(monkeypatch, dtype) -> None:
    # 2 sigmoid(2z) - 1 loses tanh's relative precision near 0: with 8 or 11 mantissa bits the
    # value of a network near 0 would be wrong in its leading digit.
    calls = _fused_calls(monkeypatch)
    net = FullyConnected([2, 8, 8, 1], dtype=dtype)
    net.forward_derivatives(torch.rand(5, 2, dtype=dtype) * 0.01)
    assert calls == []
    with torch.autocast("cpu", dtype=dtype):  # float32 points, half-precision arithmetic
        FullyConnected([2, 8, 8, 1]).forward_derivatives(torch.rand(5, 2) * 0.01)
    assert calls == []


def test_no_points_give_empty_lanes() -> None:
    net = _net([2, 8, 8, 1])
    u, du, d2u = net.forward_derivatives(torch.rand(0, 2, dtype=torch.float64), (True, False))
    assert (u.shape, du.shape, d2u.shape) == ((0, 1), (0, 1, 2), (0, 1, 2))
