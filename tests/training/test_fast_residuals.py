"""Fast residual paths give the losses of the plain autograd path: forward Laplacian, compile."""

from __future__ import annotations

import pytest
import torch

import deepinn as dp
from deepinn.problems._poisson import PoissonParams, build_poisson
from deepinn.training import CollocationData, PINNModule, RunConfig, adam
from deepinn.training.step._plan import group_by_order


def _setup(dtype=torch.float64, space=None):
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    problem = build_poisson(
        PoissonParams(n_interior=200, n_boundary=40), square,
        lambda domain, n: dp.samplers.RandomUniformSampler(domain, n, seed=0),
    )
    torch.manual_seed(0)
    net = dp.nn.FullyConnected([2, 16, 16, 1], "tanh", bounds=square.bounding_box(), dtype=dtype)
    data = CollocationData(problem, RunConfig(dtype=str(dtype).removeprefix("torch.")))
    points = data.global_points(0)
    rows = {name: batch["x"].shape[0] for name, batch in points.items()}
    return problem, net, points, rows


def _module(problem, net, **knobs):
    return PINNModule(problem, net, adam(), RunConfig(**knobs))


def _losses_and_grads(module, points, rows):
    module.net.zero_grad()
    total, losses = module.compute_losses(points, rows)
    total.backward()
    grads = torch.cat([p.grad.reshape(-1) for p in module.net.parameters()])
    return total.detach(), {k: v.detach() for k, v in losses.items()}, grads


def test_forward_laplacian_losses_and_gradients_equal_autograd():
    problem, net, points, rows = _setup()
    reverse = _losses_and_grads(_module(problem, net, field_mode="reverse"), points, rows)
    auto = _losses_and_grads(_module(problem, net, field_mode="auto"), points, rows)
    assert torch.allclose(reverse[0], auto[0], rtol=1e-12, atol=0)
    assert torch.allclose(reverse[2], auto[2], rtol=1e-10, atol=1e-14)


def test_auto_mode_takes_the_single_laplacian_lane_for_poisson(monkeypatch):
    problem, net, points, rows = _setup()
    calls = []
    for name in ("forward_derivatives", "forward_laplacian"):
        original = getattr(net, name)
        monkeypatch.setattr(net, name, lambda *a, n=name, f=original: calls.append(n) or f(*a))
    module = _module(problem, net, field_mode="auto")
    module.compute_losses(points, rows)
    assert calls == ["forward_laplacian"]


def _domain(space):
    if space.dim == 1:
        return dp.domains.Interval(space, 0, 1)
    if space.dim == 2:
        return dp.domains.Parallelogram(space, [0, 0], [1, 0], [0, 1])
    return dp.domains.Box(space, [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1])


def _pde(name, second_order, laplacian_only, space):
    sampler = dp.samplers.RandomUniformSampler(_domain(space), 4, seed=0)
    return dp.constraints.PDEConstraint(
        name, sampler, lambda f: f.laplacian("u"), second_order=second_order,
        laplacian_only=laplacian_only,
    )


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        ([(("x",), True), (("x",), True)], True),
        ([(("x",), True), (("x0", "x1"), True)], True),  # the same columns, named differently
        ([(("x",), True), (("x0",), True)], False),  # different columns
        ([(("x",), True), (("x",), False)], False),
        ([(("x",), True), (None, False)], False),  # an unhinted member may ask anything
    ],
)
def test_a_group_takes_the_laplacian_lane_only_when_every_member_promises_it(hints, expected):
    space = dp.spaces.R2("x")
    members = [_pde(f"pde{i}", hint, only, space) for i, (hint, only) in enumerate(hints)]
    (group,) = group_by_order(members, space)
    assert group.laplacian_only is expected


def test_group_hints_are_merged_by_column():
    space = dp.spaces.R1("t") * dp.spaces.R2("x")
    members = [_pde("a", ("x0",), False, space), _pde("b", ("x", "t"), False, space)]
    (group,) = group_by_order(members, space)
    assert group.second_order == ("t", "x0", "x1")


def test_laplacian_only_without_second_order_is_refused():
    with pytest.raises(dp.ConfigurationError, match=r"laplacian_only=True needs second_order"):
        _pde("pde", None, True, dp.spaces.R1("x"))


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_compiled_losses_equal_eager_losses():
    problem, net, points, rows = _setup(torch.float32)
    eager = _losses_and_grads(_module(problem, net, compile=False), points, rows)
    module = _module(problem, net, compile=True)
    compiled = _losses_and_grads(module, points, rows)
    if module.compiled[1].failure is not None:
        pytest.skip(f"torch.compile unavailable here: {module.compiled[1].failure}")
    assert torch.allclose(eager[0], compiled[0], rtol=1e-5)
    assert torch.allclose(eager[2], compiled[2], rtol=1e-4, atol=1e-6)
    assert module.compiled[1].warmup_s > 0


def test_compile_failure_falls_back_to_eager_with_a_warning(monkeypatch):
    problem, net, points, rows = _setup()

    def broken(function, **kwargs):
        def fail(*args):
            raise RuntimeError("no C++ compiler found")

        return fail

    monkeypatch.setattr(torch, "compile", broken)
    eager = _losses_and_grads(_module(problem, net, compile=False), points, rows)
    module = _module(problem, net, compile=True)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler found.*eager mode"):
        fallback = _losses_and_grads(module, points, rows)
    assert torch.equal(eager[0], fallback[0])
