"""Speed hints of a Python residual are inferred from one recording pass, never demanded."""

from __future__ import annotations

import math

import pytest
import torch

import deepinn as dp
from deepinn.training import PINNLoss, RunConfig


def _square():
    return dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])


def _pde(residual, **hints):
    sampler = dp.samplers.RandomUniformSampler(_square(), 32, seed=0)
    return dp.constraints.PDEConstraint("pde", sampler, residual=residual, **hints)


def _net():
    torch.manual_seed(0)
    return dp.nn.FullyConnected([2, 8, 1], "tanh").double()


@pytest.mark.parametrize(
    ("residual", "expected"),
    [
        (lambda f: -f.laplacian("u"), (2, ("x0", "x1"), True)),
        (lambda f: f.partial("u", "x0", "x0") + f["u"], (2, ("x0",), False)),
        (lambda f: f.partial("u", "x0", "x1"), (2, None, False)),
        (lambda f: f.grad("u")[:, :1] - 1.0, (1, None, False)),
        (lambda f: f["u"] ** 2, (0, None, False)),
        (lambda f: f.laplacian("u", "x0") + f.grad("u")[:, 1:], (2, ("x0",), True)),
    ],
)
def test_hints_are_recorded_from_the_residual(residual, expected):
    constraint = _pde(residual)
    problem = dp.Problem("p", _square(), [constraint])
    PINNLoss(problem, _net())
    assert (constraint.order, constraint.second_order, constraint.laplacian_only) == expected


def test_explicit_hints_win_over_inference():
    constraint = _pde(lambda f: -f.laplacian("u"), second_order=("x0", "x1"))
    PINNLoss(dp.Problem("p", _square(), [constraint]), _net())
    assert (constraint.second_order, constraint.laplacian_only) == (("x0", "x1"), False)


def test_an_inferred_laplacian_takes_the_forward_lane_and_matches_autograd():
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    inferred = _pde(lambda f: -f.laplacian("u"), source=lambda x: 2 * math.pi**2 * exact(x))
    plain = _pde(lambda f: -f.laplacian("u"), source=lambda x: 2 * math.pi**2 * exact(x), order=2)
    net = _net()
    sample = inferred.sample(torch.Generator().manual_seed(1))
    batch = {"pde": {k: v.double() for k, v in sample.items()}}
    fast = PINNLoss(dp.Problem("p", _square(), [inferred]), net, RunConfig(field_mode="auto"))
    slow = PINNLoss(dp.Problem("p", _square(), [plain]), net, RunConfig(field_mode="reverse"))
    assert fast.groups[0].laplacian_only and not slow.groups[0].laplacian_only
    torch.testing.assert_close(fast(batch)[0], slow(batch)[0], rtol=1e-10, atol=1e-12)


def test_a_residual_using_raw_tensors_keeps_the_default_hints():
    def residual(f):
        (u_x,) = torch.autograd.grad(f.values.sum(), f.x, create_graph=True)
        return u_x[:, :1]

    constraint = _pde(residual)
    PINNLoss(dp.Problem("p", _square(), [constraint]), _net())
    hints = (constraint.order, constraint.second_order, constraint.laplacian_only)
    assert hints == (2, None, False)
