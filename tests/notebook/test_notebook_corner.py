"""The seed notebook's names live in deepinn.notebook; the core classes carry none of them."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import deepinn as dp
from deepinn import notebook
from deepinn.spaces import Points

SEED_METHODS = ("sampler_object", "sample_labels")


def _square() -> object:
    return dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])


@pytest.mark.parametrize(
    "core", [dp.constraints.PDEConstraint, dp.constraints.DirichletBC, dp.constraints.NeumannBC]
)
@pytest.mark.parametrize("method", SEED_METHODS)
def test_core_constraints_have_no_seed_methods(core: type, method: str) -> None:
    assert not hasattr(core, method)


@pytest.mark.parametrize("name", ["Jacobian", "STRATEGIES", "PDE", "Generic", "scatter", "Model"])
def test_core_packages_have_no_seed_names(name: str) -> None:
    for package in (dp.operators, dp.constraints, dp.samplers, dp.domains, dp.spaces, dp.problems):
        assert not hasattr(package, name), f"{package.__name__}.{name}"


@pytest.mark.parametrize("method", SEED_METHODS)
def test_core_points_samplers_and_domains_have_no_seed_methods(method: str) -> None:
    for core in (
        Points,
        dp.samplers.RandomUniformSampler,
        dp.domains.Parallelogram,
        dp.spaces.Space,
    ):
        assert not hasattr(core, method), f"{core.__name__}.{method}"


def test_the_old_module_paths_are_gone() -> None:
    for old in ("deepinn.constraint", "deepinn.domain", "deepinn.utils", "deepinn._model"):
        with pytest.raises(ModuleNotFoundError):
            __import__(old)


def test_the_seed_names_resolve_through_dp_into_deepinn_notebook() -> None:
    assert dp.constraint is notebook and dp.domain is notebook and dp.utils is notebook
    assert dp.constraint.Jacobian is notebook.Jacobian
    assert dp.constraint.STRATEGIES["sobol"] is dp.samplers.SobolSampler
    assert dp.domain.Generic is notebook.Generic
    assert dp.utils.scatter is notebook.scatter
    assert dp.Model is notebook.Model


def test_the_notebook_corner_is_not_named_like_the_seed_knob() -> None:
    assert not hasattr(dp, "seed")
    with pytest.raises(ModuleNotFoundError):
        __import__("deepinn.seed")


def test_seed_pde_is_a_core_pde_constraint_with_the_notebook_methods() -> None:
    interior = dp.constraint.PDE(geom=_square(), sampling_strategy="random", no_points=50, seed=0)
    assert isinstance(interior, dp.constraints.PDEConstraint)
    assert interior.sampler_object() is interior.sampler
    x = interior.sampler_object().sample_points().as_tensor
    labels = interior.sample_labels(x)
    assert labels.shape == (50,) and torch.count_nonzero(labels) == 0


def test_seed_dirichlet_labels_are_its_prescribed_values() -> None:
    bc = dp.constraint.DirichletBC(
        geom=_square(), function=lambda X: X[:, :1] ** 2, no_points=30, seed=0
    )
    assert isinstance(bc, dp.constraints.DirichletBC)
    x = bc.sampler_object().sample_points()
    torch.testing.assert_close(bc.sample_labels(x), x.as_tensor[:, 0] ** 2)


def test_generic_builds_a_core_problem_from_seed_constraints() -> None:
    square = _square()
    interior = dp.constraint.PDE(geom=square, no_points=10, seed=0)
    bc = dp.constraint.DirichletBC(
        geom=square, function=lambda X: 0 * X[:, :1], no_points=10, seed=1
    )
    problem = dp.domain.Generic(lambda X, y: y, interior, [bc])
    assert isinstance(problem, dp.Problem)
    assert [c.name for c in problem.constraints] == ["pde", "bc0"]


@pytest.mark.slow
def test_import_deepinn_does_not_import_lightning() -> None:
    code = (
        "import sys, deepinn as dp; dp.constraint.PDE; dp.domain.Generic; dp.utils.scatter; "
        "assert 'lightning' not in sys.modules, 'lightning imported'; "
        "dp.Model; assert 'lightning' in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_strategy_names_ignore_case_and_an_unknown_one_lists_them() -> None:
    assert isinstance(dp.constraint.PDE(geom=_square(), sampling_strategy="Sobol", no_points=8,
                                        seed=0).sampler, dp.samplers.SobolSampler)
    with pytest.raises(dp.ConfigurationError, match=r"Registered sampling strategies: .*sobol"):
        dp.constraint.PDE(geom=_square(), sampling_strategy="sobl", no_points=8)


def test_a_dirichlet_condition_on_a_boundary_samples_that_boundary() -> None:
    square = _square()
    bc = dp.constraint.DirichletBC(geom=square.boundary, function=lambda X: 0 * X[:, :1],
                                   no_points=16, seed=0)
    points = bc.sample(torch.Generator().manual_seed(0))["x"]
    assert bool(square.boundary.contains(points).all())


def test_training_for_no_iterations_names_the_argument() -> None:
    square = _square()
    interior = dp.constraint.PDE(geom=square, no_points=8, seed=0)
    model = dp.Model(
        dp.domain.Generic(lambda X, y: y, interior, []), dp.nn.FullyConnected([2, 4, 1])
    )
    model.compile("adam", 1e-3, "MSE", "cpu")
    with pytest.raises(
        dp.ConfigurationError, match=r"model.train\(iterations=0\): give a positive"
    ):
        model.train(iterations=0)
