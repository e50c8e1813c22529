"""The PINN loss on its own, without a Trainer: analytic values, weights, grouping, sharding."""

from __future__ import annotations

import math

import pytest
import torch

import deepinn as dp
from deepinn.constraints import DataConstraint, DirichletBC, NeumannBC, PDEConstraint
from deepinn.training import PINNModule, RunConfig, adam
from deepinn.training.step._loss import PINNLoss


@pytest.fixture(autouse=True)
def _float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


class Formula(torch.nn.Module):
    """A 'network' that computes a closed-form function of its inputs."""

    def __init__(self, function):
        super().__init__()
        self.function = function
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(x))
        return self.function(x)


def _interval():
    return dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)


def _sine_problem(pde_weight: float = 1.0):
    """-u''/pi^2 = sin(pi x) on (0, 1), u = sin(pi x) at 0 and 1: u = sin(pi x)."""
    interval = _interval()
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    pde = PDEConstraint(
        "pde", dp.samplers.GridSampler(interval, 32),
        residual=lambda f: -f.laplacian("u") / math.pi**2, source=exact, weight=pde_weight,
    )
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("sine", interval, [pde, bc], exact=exact)


def _quadratic_problem(pde_weight: float = 1.0, bc_weight: float = 1.0):
    """u'' = 2 on (0, 1), u = x^2 at 0 and 1: u = x^2."""
    interval = _interval()
    pde = PDEConstraint(
        "pde", dp.samplers.GridSampler(interval, 16),
        residual=lambda f: f.laplacian("u"), source=lambda x: torch.full_like(x, 2.0),
        weight=pde_weight,
    )
    bc = DirichletBC(
        "boundary", dp.samplers.GridSampler(interval.boundary, 2), value=lambda x: x**2,
        weight=bc_weight,
    )
    return dp.Problem("quadratic", interval, [pde, bc], exact=lambda x: x**2)


def _points(problem):
    generator = torch.Generator().manual_seed(0)
    return {c.name: c.sample(generator) for c in problem.constraints}


def test_the_exact_solution_has_zero_pde_and_boundary_loss():
    problem = _sine_problem()
    loss = PINNLoss(problem, Formula(lambda x: torch.sin(math.pi * x)))
    total, losses = loss(_points(problem))
    assert set(losses) == {"pde", "boundary"}
    assert losses["pde"].item() < 1e-28
    assert losses["boundary"].item() < 1e-28
    assert total.item() < 1e-28


def _wrong(x):
    # u'' - 2 = 2 at every interior point; u - x^2 = x^2 - x + 0.5 = 0.5 at x = 0 and x = 1.
    return 2 * x**2 - x + 0.5


def test_a_wrong_network_gives_the_analytic_loss():
    problem = _quadratic_problem()
    total, losses = PINNLoss(problem, Formula(_wrong))(_points(problem))
    assert losses["pde"].item() == pytest.approx(4.0, rel=1e-12)
    assert losses["boundary"].item() == pytest.approx(0.25, rel=1e-12)
    assert total.item() == pytest.approx(4.25, rel=1e-12)


def test_weights_multiply_each_constraint_loss():
    problem = _quadratic_problem(pde_weight=3.0, bc_weight=0.1)
    total, losses = PINNLoss(problem, Formula(_wrong))(_points(problem))
    assert losses["pde"].item() == pytest.approx(3.0 * 4.0, rel=1e-12)
    assert losses["boundary"].item() == pytest.approx(0.1 * 0.25, rel=1e-12)
    assert total.item() == pytest.approx(12.025, rel=1e-12)


def test_the_loss_has_the_gradient_of_the_mean_squared_residual():
    # u = a x^2 + (1 - a) x: pde loss (2a - 2)^2, d/da = 8 (a - 1); zero on the boundary.
    a = torch.nn.Parameter(torch.tensor(3.0))
    problem = _quadratic_problem()
    network = Formula(lambda x: a * x**2 + (1 - a) * x)
    total, losses = PINNLoss(problem, network)(_points(problem))
    total.backward()
    assert losses["boundary"].item() < 1e-28
    assert a.grad.item() == pytest.approx(8 * (3.0 - 1), rel=1e-12)


def _mixed_order_problem():
    interval = _interval()
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 8), lambda f: f.laplacian("u"))
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), lambda x: x * 0)
    flux = NeumannBC("flux", dp.samplers.GridSampler(interval.boundary, 2), lambda x: x * 0)
    data = DataConstraint("data", interval.space, torch.rand(5, 1), torch.zeros(5, 1))
    return dp.Problem("mixed", interval, [pde, bc, flux, data])


def test_constraints_are_grouped_by_derivative_order():
    problem = _mixed_order_problem()
    loss = PINNLoss(problem, Formula(lambda x: x**2))
    names = [[c.name for c in group.members] for group in loss.groups]
    assert names == [["boundary", "data"], ["flux"], ["pde"]]


def test_constraints_of_one_order_share_one_forward_pass():
    problem = _mixed_order_problem()
    network = Formula(lambda x: x**2)
    loss = PINNLoss(problem, network, RunConfig(field_mode="reverse"))
    network.calls.clear()  # the set-up's recording pass of the PDE residual (hint inference)
    _, losses = loss(_points(problem))
    assert network.calls == [2 + 5, 2, 8]  # boundary + data together, then flux, then pde
    assert set(losses) == {"pde", "boundary", "flux", "data"}


def test_shards_with_global_rows_sum_to_the_global_mean():
    problem = _sine_problem()
    network = Formula(lambda x: torch.cos(x))  # any wrong network
    points = _points(problem)
    rows = {name: batch["x"].shape[0] for name, batch in points.items()}
    whole, whole_losses = PINNLoss(problem, network)(points)
    shards = [
        {name: {k: v[rank::2] for k, v in batch.items()} for name, batch in points.items()}
        for rank in range(2)
    ]
    parts = [PINNLoss(problem, network)(shard, rows) for shard in shards]
    assert (parts[0][0] + parts[1][0]).item() == pytest.approx(whole.item(), rel=1e-12)
    for name, value in whole_losses.items():
        summed = parts[0][1][name] + parts[1][1][name]
        assert summed.item() == pytest.approx(value.item(), rel=1e-12)


def test_without_rows_each_loss_is_the_mean_over_its_batch():
    problem = _sine_problem()
    network = Formula(lambda x: torch.cos(x))
    points = _points(problem)
    rows = {name: batch["x"].shape[0] for name, batch in points.items()}
    default = PINNLoss(problem, network)(points)
    explicit = PINNLoss(problem, network)(points, rows)
    assert torch.equal(default[0], explicit[0])


def test_an_unknown_field_mode_is_refused():
    with pytest.raises(dp.ConfigurationError, match=r"field_mode 'sideways'.*reverse"):
        PINNLoss(_sine_problem(), Formula(torch.sin), RunConfig(field_mode="sideways"))


def test_the_module_delegates_its_losses_to_the_loss_object():
    problem = _quadratic_problem()
    module = PINNModule(problem, Formula(_wrong), adam())
    points = _points(problem)
    rows = {name: batch["x"].shape[0] for name, batch in points.items()}
    assert isinstance(module.loss, PINNLoss)
    assert module.compute_losses(points, rows)[0].item() == pytest.approx(4.25, rel=1e-12)


def test_a_problem_whose_every_weight_is_zero_is_refused():
    with pytest.raises(
        dp.ConfigurationError, match="Every constraint of problem 'quadratic' has weight 0"
    ):
        PINNLoss(_quadratic_problem(0.0, 0.0), dp.nn.FullyConnected([1, 4, 1]))


def test_a_term_no_trained_weight_reaches_is_refused_on_the_first_batch():
    problem = _quadratic_problem()
    pde = problem.constraints[0]
    pde.residual_fn = lambda f: f.coords("x") ** 2  # the points only: no output of the network
    pde.infer_hints = False  # as a configured residual: declared hints, no recording pass
    loss = PINNLoss(problem, dp.nn.FullyConnected([1, 4, 1]))
    with pytest.raises(
        dp.ConfigurationError, match=r"Constraint\(s\) \['pde'\]: the residual does not depend"
    ):
        loss.choose_modes(_points(problem))
    pde.residual_fn = lambda f: f.laplacian("u")
    loss.choose_modes(_points(problem))  # the same problem, its residual restored: accepted


def test_a_loss_that_is_not_finite_before_any_step_is_refused_naming_the_cause():
    problem = _quadratic_problem()
    network = dp.nn.FullyConnected([1, 4, 1])
    with torch.no_grad():
        for p in network.parameters():
            p.fill_(1e200)  # finite weights, outputs whose squares overflow
    loss = PINNLoss(problem, network)
    with pytest.raises(
        dp.ConfigurationError, match=r"not finite at the initial weights, before any step"
    ):
        loss.choose_modes(_points(problem))
    with torch.no_grad():
        next(network.parameters()).fill_(math.nan)
    with pytest.raises(dp.ConfigurationError, match=r"initial weights are not finite"):
        loss.choose_modes(_points(problem))


def test_an_initial_condition_outside_the_time_range_is_refused_on_the_first_batch():
    X, T = dp.spaces.R1("x"), dp.spaces.R1("t")
    interval = dp.domains.Interval(X, 0.0, 1.0)
    slab = interval * dp.domains.Interval(T, 0.0, 1.0)
    pde = PDEConstraint("pde", dp.samplers.GridSampler(slab, 16),
                        residual=lambda f: f.partial("u", "t") - f.partial("u", "x", "x"))
    start = dp.constraints.InitialCondition(
        "start",
        dp.samplers.GridSampler(interval, 8),
        slab.space,
        value=lambda x: 0 * x[:, :1],
        t0=5.0,
    )
    problem = dp.Problem("late", slab, [pde, start])
    loss = PINNLoss(problem, dp.nn.FullyConnected([2, 4, 1]))
    with pytest.raises(dp.ConfigurationError, match=r"'start': 100% of its points .* lie outside"):
        loss.choose_modes(_points(problem))
