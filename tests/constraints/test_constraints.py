"""Constraints: residuals vanish on fields that satisfy them; bad shapes are named."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import deepinn as dp
from deepinn.constraints import (
    DataConstraint,
    DirichletBC,
    InitialCondition,
    NeumannBC,
    PDEConstraint,
    PeriodicBC,
    RobinBC,
)
from deepinn.operators import Field


def _field(fn, x, space, outputs=("u",)):
    return Field(fn, x, space, output_names=outputs, mode="reverse")


def _residual(constraint, fn, outputs=("u",)):
    batch = constraint.sample(torch.Generator().manual_seed(0))
    batch = {k: v.to(torch.float64) for k, v in batch.items()}
    field = _field(fn, constraint.inputs(batch), constraint.space, outputs)
    return constraint.checked_residual(field, batch)


@pytest.fixture
def disk():
    return dp.domains.Circle(dp.spaces.R2("x"), [0.0, 0.0], 1.0)


def test_neumann_uses_outward_normal_on_a_disk(disk):
    # u = x^2 + y^2 has du/dn = 2r = 2 on the unit circle (outward normal).
    sampler = dp.samplers.RandomUniformSampler(disk.boundary, n_points=64, seed=0)
    constraint = NeumannBC("flux", sampler, flux=lambda x: torch.full((len(x), 1), 2.0))
    residual = _residual(constraint, lambda x: (x**2).sum(1, keepdim=True))
    assert residual.abs().max() < 1e-5


def test_neumann_with_the_inward_normal_would_not_vanish(disk):
    sampler = dp.samplers.RandomUniformSampler(disk.boundary, n_points=64, seed=0)
    constraint = NeumannBC("flux", sampler, flux=lambda x: torch.full((len(x), 1), -2.0))
    residual = _residual(constraint, lambda x: (x**2).sum(1, keepdim=True))
    assert residual.abs().min() > 3.9


def test_neumann_needs_a_boundary(disk):
    sampler = dp.samplers.RandomUniformSampler(disk, n_points=8, seed=0)
    constraint = NeumannBC("flux", sampler, flux=lambda x: x[:, :1])
    with pytest.raises(dp.ConfigurationError, match="not a boundary"):
        constraint.sample(torch.Generator().manual_seed(0))


def test_robin_vanishes_on_its_solution(disk):
    # u = x^2 + y^2 on the unit circle: u = 1, du/dn = 2, so 3 u + 2 du/dn = 7.
    sampler = dp.samplers.RandomUniformSampler(disk.boundary, n_points=32, seed=0)
    constraint = RobinBC(
        "robin", sampler, value=lambda x: torch.full((len(x), 1), 7.0), alpha=3, beta=2
    )
    assert _residual(constraint, lambda x: (x**2).sum(1, keepdim=True)).abs().max() < 1e-5


def test_periodic_vanishes_on_a_periodic_field():
    space = dp.spaces.R1("x") * dp.spaces.R1("y")
    # The face x = 0 of the square [0, 2 pi] x [0, 1]: sample the square, project to x = 0.
    square = dp.domains.Parallelogram(space, [0, 0], [2 * math.pi, 0], [0, 1])
    sampler = dp.samplers.RandomUniformSampler(square, n_points=32, seed=0)
    sampler.sample_points = _on_face(sampler.sample_points)
    constraint = PeriodicBC("periodic", sampler, shift=[2 * math.pi, 0.0], derivatives=True)

    def periodic(x):
        return torch.sin(x[:, :1]) * torch.cos(x[:, 1:]) + x[:, 1:] ** 2

    assert _residual(constraint, periodic).abs().max() < 1e-6
    assert _residual(constraint, lambda x: x[:, :1] * 1.0).abs().max() > 1.0


def _on_face(sample):
    def project(generator=None):
        points = sample(generator)
        tensor = points.as_tensor.clone()
        tensor[:, 0] = 0.0
        return dp.spaces.Points(tensor, points.space)

    return project


def test_initial_condition_vanishes_on_its_solution():
    # u(x, t) = sin(x) cos(t): u(x, 0) = sin(x), du/dt(x, 0) = 0.
    space = dp.spaces.R1("x") * dp.spaces.R1("t")
    sampler = dp.samplers.RandomUniformSampler(
        dp.domains.Interval(dp.spaces.R1("x"), 0, 3), 32, seed=0
    )
    constraint = InitialCondition(
        "initial", sampler, space, value=lambda x: torch.sin(x[:, :1]), rate=lambda x: 0 * x[:, :1]
    )
    batch = constraint.sample(torch.Generator().manual_seed(0))
    assert torch.all(batch["x"][:, 1] == 0.0)

    def solution(x):
        return torch.sin(x[:, :1]) * torch.cos(x[:, 1:])

    assert _residual(constraint, solution).abs().max() < 1e-6

    def moving(x):  # right value, wrong rate
        return torch.sin(x[:, :1] - x[:, 1:])

    assert _residual(constraint, moving)[:, 1].abs().max() > 0.5


def test_initial_condition_names_a_missing_time_variable():
    space = dp.spaces.R2("x")
    sampler = dp.samplers.RandomUniformSampler(
        dp.domains.Interval(dp.spaces.R1("y"), 0, 1), 4, seed=0
    )
    with pytest.raises(dp.ConfigurationError, match="time variable 't'"):
        InitialCondition("ic", sampler, space, value=lambda x: x[:, :1])


def test_dirichlet_and_pde_source(disk):
    sampler = dp.samplers.RandomUniformSampler(disk, n_points=50, seed=0)
    pde = PDEConstraint(
        "pde", sampler, residual=lambda f: -f.laplacian("u"), source=lambda x: -4.0 + 0 * x[:, 0]
    )
    assert _residual(pde, lambda x: (x**2).sum(1, keepdim=True)).abs().max() < 1e-5
    bc = DirichletBC(
        "bc",
        dp.samplers.RandomUniformSampler(disk.boundary, 20, seed=0),
        value=lambda x: 1.0 + 0 * x[:, 0],
    )
    assert _residual(bc, lambda x: (x**2).sum(1, keepdim=True)).abs().max() < 1e-5


def test_wrong_residual_shape_names_the_constraint_and_both_shapes(disk):
    sampler = dp.samplers.RandomUniformSampler(disk, n_points=10, seed=0)
    pde = PDEConstraint("momentum", sampler, residual=lambda f: f["u"].reshape(-1)[:5])
    with pytest.raises(dp.ShapeError, match=r"'momentum'.*\(5, 1\).*10 points"):
        _residual(pde, lambda x: x[:, :1])


def test_data_constraint_from_npz(tmp_path):
    space = dp.spaces.R1("x")
    x = np.linspace(0, 1, 11)
    np.savez(tmp_path / "obs.npz", x=x, u=x**2)
    data = DataConstraint.from_npz("obs", space, tmp_path / "obs.npz")
    residual = _residual(data, lambda x: x**2)
    assert residual.shape == (11, 1) and residual.abs().max() < 1e-6


def test_data_constraint_names_missing_arrays(tmp_path):
    np.savez(tmp_path / "obs.npz", points=np.zeros(3))
    with pytest.raises(dp.ConfigurationError, match=r"\['x', 'u'\] not found"):
        DataConstraint.from_npz("obs", dp.spaces.R1("x"), tmp_path / "obs.npz")


def test_constraint_names_must_be_identifiers(disk):
    sampler = dp.samplers.RandomUniformSampler(disk, n_points=10, seed=0)
    with pytest.raises(dp.ConfigurationError, match="'my loss'"):
        DirichletBC("my loss", sampler, value=lambda x: x[:, 0])


def test_problem_rejects_duplicate_constraint_names(disk):
    sampler = dp.samplers.RandomUniformSampler(disk, n_points=10, seed=0)
    bcs = [DirichletBC("bc", sampler, value=lambda x: x[:, 0]) for _ in range(2)]
    with pytest.raises(dp.ConfigurationError, match=r"\['bc'\]"):
        dp.Problem("p", disk, bcs)


# ---------------------------------------------------------------- residual shapes
def _interval_pde(residual, source=None, n=10, **kwargs):
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    sampler = dp.samplers.GridSampler(interval, n)
    return PDEConstraint("pde", sampler, residual=residual, source=source, **kwargs)


def _cubic(x):
    return x**3


def test_a_vector_residual_and_a_column_source_are_subtracted_as_columns():
    # residual u'' as (N,), source 6x + 1 as (N, 1): the residual is -1 at every point, not (N, N).
    pde = _interval_pde(lambda f: f.laplacian("u")[:, 0], source=lambda x: 6 * x + 1)
    residual = _residual(pde, _cubic)
    assert residual.shape == (10, 1)
    assert torch.allclose(residual, torch.full((10, 1), -1.0, dtype=torch.float64))


def test_a_column_residual_and_a_vector_source_are_subtracted_as_columns():
    pde = _interval_pde(lambda f: f.laplacian("u"), source=lambda x: 6 * x[:, 0] + 1)
    assert torch.allclose(_residual(pde, _cubic), torch.full((10, 1), -1.0, dtype=torch.float64))


def test_the_loss_of_a_vector_residual_is_the_intended_mean_square():
    from deepinn.training.step._loss import PINNLoss

    pde = _interval_pde(lambda f: f.laplacian("u")[:, 0], source=lambda x: 6 * x + 1)
    problem = dp.Problem("cubic", pde.sampler.domain, [pde])
    batch = {k: v.double() for k, v in pde.sample(torch.Generator().manual_seed(0)).items()}
    _, losses = PINNLoss(problem, _cubic)({"pde": batch})
    assert losses["pde"].item() == pytest.approx(1.0, rel=1e-6)  # mean((-1)^2), not an N x N mean


def test_a_residual_broadcast_to_one_column_per_point_is_refused():
    pde = _interval_pde(lambda f: f["u"] - torch.sin(f.x[:, 0]))  # (10, 1) - (10,) -> (10, 10)
    with pytest.raises(dp.ShapeError, match=r"'pde'.*\(10, 10\).*broadcasts.*Expected \(10, m\)"):
        _residual(pde, _cubic)


def test_a_residual_that_declares_its_columns_may_have_one_per_point():
    pde = _interval_pde(lambda f: f["u"].expand(10, 10), columns=10)
    assert _residual(pde, _cubic).shape == (10, 10)


def test_a_residual_with_other_columns_than_declared_is_refused():
    pde = _interval_pde(lambda f: f["u"], columns=2)
    with pytest.raises(dp.ShapeError, match=r"'pde'.*\(10, 1\).*must have shape \(10, 2\)"):
        _residual(pde, _cubic)


def test_a_python_float_residual_is_refused():
    pde = _interval_pde(lambda f: 0.0)
    with pytest.raises(dp.ShapeError, match=r"'pde' returned the float 0\.0.*\(10, m\)"):
        _residual(pde, _cubic)


def test_a_zero_dimensional_residual_is_refused():
    pde = _interval_pde(lambda f: f["u"].sum())
    with pytest.raises(dp.ShapeError, match=r"'pde' returned a 0-d tensor.*\(10, m\).*field"):
        _residual(pde, _cubic)


def test_a_residual_with_the_wrong_number_of_rows_is_refused():
    pde = _interval_pde(lambda f: f["u"][:4])
    with pytest.raises(dp.ShapeError, match=r"'pde'.*shape \(4, 1\) for 10 points.*\(10, m\)"):
        _residual(pde, _cubic)


def test_a_source_with_other_columns_than_the_residual_is_refused():
    pde = _interval_pde(lambda f: f["u"], source=lambda x: torch.cat([x, x], dim=1))
    with pytest.raises(dp.ShapeError, match=r"'pde'.*\(10, 1\).*source\(x\) has \(10, 2\)"):
        _residual(pde, _cubic)


def test_a_dirichlet_value_with_too_many_columns_is_refused_when_sampled(disk):
    sampler = dp.samplers.RandomUniformSampler(disk.boundary, 8, seed=0)
    bc = DirichletBC("bc", sampler, value=lambda x: x)  # (8, 2) for the one output u
    message = r"bc: value\(x\) has shape \(8, 2\); expected .*\(8, 1\)"
    with pytest.raises(dp.ShapeError, match=message):
        bc.sample(torch.Generator().manual_seed(0))


def test_one_dirichlet_column_is_shared_by_every_output(disk):
    sampler = dp.samplers.RandomUniformSampler(disk.boundary, 8, seed=0)
    bc = DirichletBC("bc", sampler, value=lambda x: x[:, :1], outputs=("u", "v"))
    target = bc.sample(torch.Generator().manual_seed(0))["target"]
    assert target.shape == (8, 2) and torch.equal(target[:, 0], target[:, 1])


# ---------------------------------------------------------------- a user's functions
@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: _interval_pde(3), r"'pde': residual = 3 is not callable"),
        (lambda: _interval_pde(None), r"'pde': residual = None is not callable"),
        (lambda: _interval_pde(lambda f: f["u"], source=2.0), r"source = 2.0 is not callable"),
        (lambda: _interval_pde(lambda f: f["u"], order=-1), r"order = -1"),
        (lambda: DirichletBC("bc", dp.samplers.GridSampler(
            dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0).boundary, 2), value=0.0),
         r"'bc': value = 0.0 is not callable"),
    ],
)
def test_a_function_argument_that_is_not_callable_is_refused_when_built(build, match):
    with pytest.raises(dp.ConfigurationError, match=match):
        build()


@pytest.mark.parametrize(
    ("source", "error", "match"),
    [
        (lambda x: 1 / 0, dp.ConfigurationError, r"pde: source\(x\) raised ZeroDivisionError"),
        (lambda x: None, dp.ShapeError, r"pde: source\(x\) gave NoneType None, not numbers"),
        (lambda x: x > 0, dp.ShapeError, r"dtype torch.bool"),
    ],
)
def test_a_failing_source_names_the_constraint_and_the_function(source, error, match):
    pde = _interval_pde(lambda f: f["u"], source=source)
    with pytest.raises(error, match=match):
        pde.sample(torch.Generator().manual_seed(0))


def test_a_failing_residual_names_the_constraint_and_the_field_api_before_training():
    pde = _interval_pde(lambda f: f.derivative("u", "x"))
    network = torch.nn.Linear(1, 1)
    with pytest.raises(dp.ConfigurationError, match=r"'pde': its residual raised AttributeError"):
        dp.constraints.infer_hints(pde, network, ("u",))


def test_a_residual_that_does_not_depend_on_the_network_is_refused_before_training():
    pde = _interval_pde(lambda f: torch.zeros(len(f.x), 1))
    network = torch.nn.Linear(1, 1)
    with pytest.raises(dp.ConfigurationError, match="does not depend on the network"):
        dp.constraints.infer_hints(pde, network, ("u",))


def test_the_recording_pass_checks_the_dependence_under_no_grad_too():
    pde = _interval_pde(lambda f: f.laplacian("u"))
    with torch.no_grad():
        dp.constraints.infer_hints(pde, torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(),
                                                            torch.nn.Linear(4, 1)), ("u",))
    assert pde.order == 2 and pde.laplacian_only


def test_a_source_that_is_not_finite_is_refused_when_sampled():
    pde = _interval_pde(lambda f: f["u"], source=lambda x: torch.log(x - 0.5))
    with pytest.raises(dp.ConfigurationError, match=r"pde: source\(x\) is not finite at \d+ of 10"):
        pde.sample(torch.Generator().manual_seed(0))
