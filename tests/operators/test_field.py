"""Field: outputs and derivatives by name, lazily, with one shared cache."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.operators import (
    Field,
    ForwardDerivatives,
    LaneDerivatives,
    ReverseDerivatives,
)
from deepinn.spaces import R1, R2, Points

TOL = {"atol": 1e-10, "rtol": 1e-10}
SPACE = R1("t") * R2("x")  # columns t, x0, x1


@pytest.fixture
def grad_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original: Callable[..., object] = torch.autograd.grad

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    return calls


def _points(n: int = 6, d: int = 3) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _uv(z: torch.Tensor) -> torch.Tensor:
    """u = t x0^2 + t^2 x1^3, v = sin(x0) exp(t), w = x0 x1."""
    t, x0, x1 = z[:, 0:1], z[:, 1:2], z[:, 2:3]
    return torch.cat([t * x0**2 + t**2 * x1**3, torch.sin(x0) * torch.exp(t), x0 * x1], dim=1)


def _field(mode: str = "reverse", **kwargs: object) -> Field:
    return Field(_uv, _points(), SPACE, ("u", "v", "w"), mode, **kwargs)  # type: ignore[arg-type]


def test_values_and_columns_by_name() -> None:
    field = _field()
    expected = _uv(_points())
    torch.testing.assert_close(field.values, expected, **TOL)
    torch.testing.assert_close(field["v"], expected[:, 1:2], **TOL)
    assert field["u"].shape == (6, 1)


def test_nothing_is_computed_until_asked() -> None:
    calls: list[int] = []

    def fn(z: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return _uv(z)

    field = Field(fn, _points(), SPACE, ("u", "v", "w"))
    assert calls == []
    field.grad("u")
    field["v"]
    assert calls == [1]


def test_grad_over_all_and_named_coordinates() -> None:
    field = _field()
    z = _points()
    t, x0, x1 = z[:, 0:1], z[:, 1:2], z[:, 2:3]
    expected = torch.cat([x0**2 + 2 * t * x1**3, 2 * t * x0, 3 * t**2 * x1**2], dim=1)
    torch.testing.assert_close(field.grad("u"), expected, **TOL)
    torch.testing.assert_close(field.grad("u", "x"), expected[:, 1:], **TOL)
    torch.testing.assert_close(field.grad("u", ["x1", "t"]), expected[:, [2, 0]], **TOL)


def test_partials_by_coordinate_name() -> None:
    field = _field()
    z = _points()
    t, x0, x1 = z[:, 0:1], z[:, 1:2], z[:, 2:3]
    torch.testing.assert_close(field.partial("u", "t"), x0**2 + 2 * t * x1**3, **TOL)
    torch.testing.assert_close(field.partial("u", "x0", "x0"), 2 * t, **TOL)
    torch.testing.assert_close(field.partial("u", "t", "x1"), 6 * t * x1**2, **TOL)
    torch.testing.assert_close(field.partial("u", "x1", "x1", "t"), 12 * t * x1, **TOL)
    torch.testing.assert_close(field.partial("w", "x0", "x1"), torch.ones_like(t), **TOL)
    torch.testing.assert_close(field.partial("u"), field["u"], **TOL)


def test_laplacian_over_a_variable_sums_its_coordinates() -> None:
    field = _field()
    z = _points()
    t, x1 = z[:, 0:1], z[:, 2:3]
    torch.testing.assert_close(field.laplacian("u", "x"), 2 * t + 6 * t**2 * x1, **TOL)
    torch.testing.assert_close(field.laplacian("u"), 2 * x1**3 + 2 * t + 6 * t**2 * x1, **TOL)


def test_hessian_is_symmetric_and_analytic() -> None:
    field = _field()
    z = _points()
    t, x0, x1 = z[:, 0], z[:, 1], z[:, 2]
    expected = torch.stack(
        [
            torch.stack([2 * x1**3, 2 * x0, 6 * t * x1**2], dim=1),
            torch.stack([2 * x0, 2 * t, 0 * t], dim=1),
            torch.stack([6 * t * x1**2, 0 * t, 6 * t**2 * x1], dim=1),
        ],
        dim=1,
    )
    torch.testing.assert_close(field.hessian("u"), expected, **TOL)
    torch.testing.assert_close(field.hessian("u", "x"), expected[:, 1:, 1:], **TOL)


def test_divergence_of_named_outputs() -> None:
    field = _field()
    z = _points()
    t, x0 = z[:, 0:1], z[:, 1:2]
    # d v / d x0 + d w / d x1 = cos(x0) e^t + x0
    expected = torch.cos(x0) * torch.exp(t) + x0
    torch.testing.assert_close(field.divergence(("v", "w"), "x"), expected, **TOL)


def test_jacobian_matches_torch_func() -> None:
    field = _field()
    expected = torch.func.vmap(torch.func.jacrev(lambda z: _uv(z[None])[0]))(_points())
    torch.testing.assert_close(field.jacobian(), expected, **TOL)
    torch.testing.assert_close(field.jacobian(["w"], "t"), expected[:, 2:, :1], **TOL)


def test_coords_are_the_differentiated_tensor() -> None:
    field = _field()
    t = field.coords("t")
    torch.testing.assert_close(t, _points()[:, :1])
    source = (t**2 * field.coords("x1")).sum()
    (d_source,) = torch.autograd.grad(source, field.x)
    z = _points()
    expected = torch.stack([2 * z[:, 0] * z[:, 2], 0 * z[:, 0], z[:, 0] ** 2], dim=1)
    torch.testing.assert_close(d_source, expected)
    assert field.coords("x").shape == (6, 2) and field.coords().shape == (6, 3)


def test_points_without_grad_are_wrapped_in_a_leaf() -> None:
    z = _points()
    field = Field(_uv, z, SPACE, ("u", "v", "w"))
    assert not z.requires_grad and field.x.requires_grad
    assert field.x.data_ptr() == z.data_ptr()


def test_points_object_brings_its_space() -> None:
    field = Field(lambda z: z[:, :1] * z[:, 1:], Points(_points(d=2), R2("x")))
    torch.testing.assert_close(field.grad("u"), _points(d=2)[:, [1, 0]], **TOL)


def test_one_dimensional_points_of_a_one_dimensional_space() -> None:
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    field = Field(lambda z: torch.sin(z), t, R1("t"))
    torch.testing.assert_close(field.partial("u", "t", "t"), -torch.sin(t)[:, None], **TOL)


def test_mapping_outputs_are_accepted() -> None:
    field = Field(lambda z: {"v": z[:, 1], "u": z[:, 0] ** 2}, _points(d=2), R2("x"), ("u", "v"))
    z = _points(d=2)
    torch.testing.assert_close(field.grad("u"), torch.stack([2 * z[:, 0], 0 * z[:, 0]], 1))


# ------------------------------------------------------------------------------ cache


def test_grad_partial_laplacian_share_backward_passes(grad_calls: list[int]) -> None:
    field = Field(lambda z: (z**3).sum(1, keepdim=True), _points(d=2), R2("x"))
    field.grad("u")
    field.partial("u", "x0")
    field.laplacian("u")
    assert len(grad_calls) == 1 + 2
    field.hessian("u")
    field.partial("u", "x1", "x0")
    assert len(grad_calls) == 3


def test_row_views_share_the_computation(grad_calls: list[int]) -> None:
    calls: list[int] = []

    def fn(z: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return _uv(z)

    field = Field(fn, _points(), SPACE, ("u", "v", "w"))
    first, second = field.rows(slice(0, 2)), field.rows(slice(2, 6))
    lap_first, lap_second = first.laplacian("u", "x"), second.laplacian("u", "x")
    assert calls == [1] and len(grad_calls) == 1 + 2
    torch.testing.assert_close(torch.cat([lap_first, lap_second]), field.laplacian("u", "x"))
    assert len(first) == 2 and len(second) == 4


def test_row_views_of_views_and_index_tensors() -> None:
    field = _field()
    view = field.rows(slice(1, 5)).rows(torch.tensor([0, 2]))
    torch.testing.assert_close(view.values, field.values[[1, 3]])
    torch.testing.assert_close(view.coords("x"), field.coords("x")[[1, 3]])
    mask = torch.tensor([True, False, True, False, False, True])
    torch.testing.assert_close(field.rows(mask).grad("v"), field.grad("v")[mask])
    torch.testing.assert_close(field.rows([4]).hessian("u"), field.hessian("u")[4:5])


# ------------------------------------------------------------------------------ modes


def _net(d: int = 3, k: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(d, 12), torch.nn.Tanh(), torch.nn.Linear(12, 12), torch.nn.Tanh(),
        torch.nn.Linear(12, k),
    ).double()


@pytest.mark.parametrize("what", ["laplacian", "hessian", "mixed", "third", "grad"])
def test_forward_and_reverse_modes_agree(what: str) -> None:
    net = _net()
    fields = [Field(net, _points(), SPACE, ("u", "v"), mode) for mode in ("reverse", "forward")]
    results = []
    for field in fields:
        if what == "laplacian":
            results.append(field.laplacian("v", "x"))
        elif what == "hessian":
            results.append(field.hessian("u"))
        elif what == "mixed":
            results.append(field.partial("u", "t", "x1"))
        elif what == "third":
            results.append(field.partial("v", "x0", "x0", "t"))
        else:
            results.append(field.grad("v"))
    torch.testing.assert_close(results[0], results[1], **TOL)


def test_forward_mode_trains_like_reverse_mode() -> None:
    grads = []
    for mode in ("reverse", "forward"):
        net = _net()
        field = Field(net, _points(), SPACE, ("u", "v"), mode)
        residual = field.partial("u", "t") - field.laplacian("u", "x") + field["v"] ** 2
        residual.square().mean().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for reverse, forward in zip(*grads, strict=True):
        torch.testing.assert_close(reverse, forward, **TOL)


def test_forward_mode_does_not_backpropagate_for_second_derivatives(grad_calls: list[int]) -> None:
    field = Field(_net(), _points(), SPACE, ("u", "v"), "forward")
    field.laplacian("u")
    assert grad_calls == []


def test_each_mode_builds_its_strategy() -> None:
    net = TanhLayer()
    hinted = {"second_order": ["x"]}
    assert Field(net, _points(), SPACE, ("u", "v")).mode == "lanes"
    assert isinstance(Field(net, _points(), SPACE, ("u", "v"), "reverse", **hinted).derivatives,
                      ReverseDerivatives)
    lanes = Field(net, _points(), SPACE, ("u", "v"), "lanes", **hinted).derivatives
    assert isinstance(lanes, LaneDerivatives) and isinstance(lanes.fallback, ReverseDerivatives)
    forward = Field(net, _points(), SPACE, ("u", "v"), "forward", **hinted).derivatives
    assert isinstance(forward, LaneDerivatives) and isinstance(forward.fallback, ForwardDerivatives)
    # no declared second derivatives, or no lanes on the network: the fallback alone
    assert isinstance(Field(net, _points(), SPACE, ("u", "v"), "lanes").derivatives,
                      ReverseDerivatives)
    assert isinstance(Field(_net(), _points(), SPACE, ("u", "v"), "forward", **hinted).derivatives,
                      ForwardDerivatives)


# ------------------------------------------------------------------ forward-Laplacian protocol


class TanhLayer(torch.nn.Module):
    """u = W2 tanh(W1 x + b1) + b2 with the forward-Laplacian protocol, for tests."""

    def __init__(self, d: int = 3, width: int = 8, k: int = 2) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.inner = torch.nn.Linear(d, width).double()
        self.outer = torch.nn.Linear(width, k).double()
        self.protocol_calls: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outer(torch.tanh(self.inner(x)))

    def forward_derivatives(
        self, x: torch.Tensor, second: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        second = torch.as_tensor(second, dtype=torch.bool)  # the Field passes a tuple of bools
        self.protocol_calls.append(second.clone())
        h = torch.tanh(self.inner(x))  # (N, m)
        w1, w2 = self.inner.weight, self.outer.weight  # (m, d), (k, m)
        dh = 1 - h**2
        du = torch.einsum("km,nm,md->nkd", w2, dh, w1)
        d2u = torch.einsum("km,nm,md->nkd", w2, -2 * h * dh, w1**2) * second.to(x.dtype)
        return self.outer(h), du, d2u


def test_protocol_serves_values_gradient_and_laplacian_in_one_call(grad_calls: list[int]) -> None:
    net = TanhLayer()
    reference = Field(net, _points(), SPACE, ("u", "v"), "reverse")
    expected = [
        reference.laplacian("u", "x"),
        reference.values,
        reference.grad("v"),
        reference.partial("v", "x1", "x1"),
    ]
    grad_calls.clear()
    field = Field(net, _points(), SPACE, ("u", "v"), "lanes", second_order=["x"])
    got = [field.laplacian("u", "x"), field.values, field.grad("v"), field.partial("v", "x1", "x1")]
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, **TOL)
    assert len(net.protocol_calls) == 1
    assert net.protocol_calls[0].tolist() == [False, True, True]
    assert field.used_forward_derivatives and not reference.used_forward_derivatives
    assert grad_calls == []  # the protocol served everything without a backward pass


def test_protocol_falls_back_for_mixed_and_undeclared(grad_calls: list[int]) -> None:
    net = TanhLayer()
    field = Field(net, _points(), SPACE, ("u", "v"), "lanes", second_order=["x"])
    reference = Field(net, _points(), SPACE, ("u", "v"), "reverse")
    field.grad("u")
    assert grad_calls == []
    for coords in (("t", "t"), ("t", "x0")):
        expected = reference.partial("u", *coords)
        torch.testing.assert_close(field.partial("u", *coords), expected, **TOL)
    torch.testing.assert_close(field.hessian("u"), reference.hessian("u"), **TOL)
    assert len(net.protocol_calls) == 1


def test_protocol_trains_the_network() -> None:
    net = TanhLayer()
    field = Field(net, _points(), SPACE, ("u", "v"), "lanes", second_order=["x"])
    field.laplacian("u", "x").square().mean().backward()
    assert net.inner.weight.grad is not None and net.inner.weight.grad.abs().sum() > 0
    assert len(net.protocol_calls) == 1


@pytest.mark.parametrize(
    ("mode", "hint", "first"),
    [("reverse", ["x"], "laplacian"), ("lanes", None, "laplacian"), ("lanes", ["x"], "hessian")],
)
def test_protocol_is_not_used(mode: str, hint: list[str] | None, first: str) -> None:
    net = TanhLayer()
    field = Field(net, _points(), SPACE, ("u", "v"), mode, second_order=hint)
    getattr(field, first)("u")
    assert net.protocol_calls == []


def test_forward_mode_uses_the_protocol_when_hinted() -> None:
    net = TanhLayer()
    field = Field(net, _points(), SPACE, ("u", "v"), "forward", second_order=["t", "x0"])
    reference = Field(net, _points(), SPACE, ("u", "v"), "reverse")
    torch.testing.assert_close(field.laplacian("v"), reference.laplacian("v"), **TOL)
    assert len(net.protocol_calls) == 1


class TanhLayerWithLaplacian(TanhLayer):
    """``TanhLayer`` that also carries a single Laplacian lane (``forward_laplacian``)."""

    def __init__(self) -> None:
        super().__init__()
        self.laplacian_calls: list[tuple[bool, ...]] = []

    def forward_laplacian(
        self, x: torch.Tensor, second: tuple[bool, ...]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self.laplacian_calls.append(tuple(second))
        u, du, d2u = TanhLayer.forward_derivatives(self, x, second)
        self.protocol_calls.clear()
        return u, du, d2u.sum(dim=2)


def _laplacian_only_field(net: torch.nn.Module) -> Field:
    hint = {"second_order": ["x"], "laplacian_only": True}
    return Field(net, _points(), SPACE, ("u", "v"), "lanes", **hint)  # type: ignore[arg-type]


def test_laplacian_only_field_takes_the_single_lane(grad_calls: list[int]) -> None:
    net = TanhLayerWithLaplacian()
    reference = Field(net, _points(), SPACE, ("u", "v"), "reverse")
    expected = [reference.laplacian("v", "x"), reference.values, reference.grad("u")]
    grad_calls.clear()
    field = _laplacian_only_field(net)
    got = [field.laplacian("v", "x"), field.values, field.grad("u")]
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, **TOL)
    assert net.laplacian_calls == [(False, True, True)] and net.protocol_calls == []
    assert grad_calls == []


def test_laplacian_only_field_still_answers_single_second_derivatives() -> None:
    net = TanhLayerWithLaplacian()
    reference = Field(net, _points(), SPACE, ("u", "v"), "reverse")
    field = _laplacian_only_field(net)
    field.laplacian("u", "x")
    for wrt in ("x0", "t"):  # one declared coordinate alone, and an undeclared Laplacian
        torch.testing.assert_close(field.laplacian("u", wrt), reference.laplacian("u", wrt), **TOL)
    torch.testing.assert_close(
        field.partial("u", "x1", "x1"), reference.partial("u", "x1", "x1"), **TOL
    )
    assert len(net.laplacian_calls) == 1


def test_laplacian_only_without_forward_laplacian_uses_the_diagonal() -> None:
    net = TanhLayer()
    field = _laplacian_only_field(net)
    reference = Field(net, _points(), SPACE, ("u", "v"), "reverse")
    torch.testing.assert_close(field.laplacian("u", "x"), reference.laplacian("u", "x"), **TOL)
    assert len(net.protocol_calls) == 1


# ------------------------------------------------------------------------------ errors


def test_unknown_output_lists_the_outputs() -> None:
    with pytest.raises(ConfigurationError, match=r"Output 'p' is not one of .*\['u', 'v', 'w'\]"):
        _field().grad("p")


def test_unknown_coordinate_lists_coordinates_and_variables() -> None:
    message = r"'y' is not in .*\['t', 'x0', 'x1'\].*\['t', 'x'\]"
    with pytest.raises(ConfigurationError, match=message):
        _field().laplacian("u", "y")


def test_partial_by_a_multi_dimensional_variable_is_ambiguous() -> None:
    with pytest.raises(ConfigurationError, match=r"'x' names 2 coordinates \['x0', 'x1'\]"):
        _field().partial("u", "x")


def test_a_coordinate_named_twice_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="name a column twice"):
        _field().laplacian("u", ["x", "x0"])


def test_bad_mode_lists_the_modes() -> None:
    message = r"mode 'fast' is not one of \['lanes', 'reverse', 'forward'\]"
    with pytest.raises(ConfigurationError, match=message):
        Field(_uv, _points(), SPACE, ("u", "v", "w"), "fast")


def test_the_run_level_auto_is_not_a_field_mode() -> None:
    message = r"'auto' is a value of a training run's field_mode.*'lanes'"
    with pytest.raises(ConfigurationError, match=message):
        Field(_uv, _points(), SPACE, ("u", "v", "w"), "auto")


def test_bad_second_order_hint_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="'z' is not in"):
        Field(_uv, _points(), SPACE, ("u", "v", "w"), second_order=["z"])


def test_wrong_number_of_outputs_is_a_shape_error() -> None:
    field = Field(_uv, _points(), SPACE, ("u", "v"))
    with pytest.raises(ShapeError, match=r"returned shape \(6, 3\).*2 output name"):
        _ = field.values


def test_points_of_the_wrong_width_are_a_shape_error() -> None:
    with pytest.raises(ShapeError, match=r"must have shape \(N, 3\); got \(6, 2\)"):
        Field(_uv, _points(d=2), SPACE)


def test_divergence_needs_one_output_per_coordinate() -> None:
    with pytest.raises(ShapeError, match=r"1 component.*2 coordinate"):
        _field().divergence("u", "x")


def test_repeated_output_names_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="repeats a name"):
        Field(_uv, _points(), SPACE, ("u", "u", "w"))


@pytest.mark.parametrize("mode", ["lanes", "reverse"])
def test_a_field_is_freed_when_dropped_not_when_the_garbage_collector_runs(mode):
    """No reference cycle between a Field and its strategies: a step's graph must go when the
    step ends, or every step's graph piles up until a collection (memory grows with steps)."""
    import gc
    import weakref

    from deepinn.nn import FullyConnected
    from deepinn.spaces import R1

    net = FullyConnected([2, 8, 1], "tanh").double()
    x = torch.rand(16, 2, dtype=torch.float64, requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        field = Field(net, x, R1("x") * R1("y"), ("u",), mode=mode, second_order=["x", "y"])
        residual = field.laplacian("u") + field.grad("u")[:, :1] + field.partial("u", "x", "y")
        values = weakref.ref(field.values)
        del field, residual
        assert values() is None
    finally:
        gc.enable()
