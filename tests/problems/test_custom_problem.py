"""problem=custom: PDEs written in configuration (the packaged yaml_* experiments)."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from deepinn import ConfigurationError
from deepinn.app import build_components, compose, register_configs
from deepinn.constraints import PDEConstraint
from deepinn.expressions import OperatorCall
from deepinn.plugins import Registration, Registry, hookimpl, load_registry
from deepinn.problems import Problem
from deepinn.training import RunConfig
from deepinn.training.service._metrics import relative_l2
from deepinn.training.step._data import round_generator
from deepinn.training.step._loss import PINNLoss

EXPERIMENTS = ["yaml_poisson_lshape", "yaml_heat", "yaml_burgers", "yaml_inverse"]


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = load_registry(strict=True, entry_points=[])
    register_configs(registry)
    return registry


@pytest.fixture
def float64() -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _build(registry: Registry, *overrides: str) -> Problem:
    cfg: DictConfig = compose(list(overrides))
    problem, _, _ = build_components(cfg, registry)
    return problem


def _points(problem: Problem) -> dict[str, dict[str, torch.Tensor]]:
    return {c.name: c.sample(round_generator(0, c.name, 0)) for c in problem.constraints}


class _Exact(torch.nn.Module):
    def __init__(self, problem: Problem) -> None:
        super().__init__()
        self.exact = problem.exact

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.exact(x)  # type: ignore[misc]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_builds_with_a_solution(registry: Registry, experiment: str) -> None:
    problem = _build(registry, f"+experiment={experiment}")
    assert problem.name == experiment
    assert problem.has_solution
    assert all(c.name in {"pde", "wall", "ends", "start", "data"} for c in problem.constraints)


def test_poisson_residual_is_laplacian_only(registry: Registry) -> None:
    problem = _build(registry, "+experiment=yaml_poisson_lshape")
    pde = next(c for c in problem.constraints if c.name == "pde")
    assert isinstance(pde, PDEConstraint)
    assert (pde.order, pde.second_order, pde.laplacian_only) == (2, ("x", "y"), True)


def test_heat_residual_needs_only_u_xx(registry: Registry) -> None:
    problem = _build(registry, "+experiment=yaml_heat")
    pde = next(c for c in problem.constraints if c.name == "pde")
    assert (pde.order, pde.second_order, pde.laplacian_only) == (2, ("x",), False)


def test_loss_groups_take_the_laplacian_lane(registry: Registry) -> None:
    problem = _build(registry, "+experiment=yaml_poisson_lshape")
    network = torch.nn.Linear(2, 1)
    groups = PINNLoss(problem, network).groups
    second = [g for g in groups if g.second_order is not None]
    assert [(g.second_order, g.laplacian_only) for g in second] == [(("x", "y"), True)]


@pytest.mark.parametrize("experiment", ["yaml_poisson_lshape", "yaml_heat"])
def test_exact_solution_has_zero_loss(registry: Registry, float64: None, experiment: str) -> None:
    problem = _build(registry, f"+experiment={experiment}", "dtype=float64")
    _, losses = PINNLoss(problem, _Exact(problem), RunConfig(field_mode="reverse"))(
        _points(problem)
    )
    assert max(float(v.detach()) for v in losses.values()) < 1e-20


def test_inverse_exact_solution_and_true_k_fit(registry: Registry, float64: None) -> None:
    problem = _build(registry, "+experiment=yaml_inverse", "dtype=float64")
    assert problem.true_parameters == {"k": 2.0}
    with torch.no_grad():
        problem.parameters["k"].fill_(2.0)
    _, losses = PINNLoss(problem, _Exact(problem), RunConfig(field_mode="reverse"))(
        _points(problem)
    )
    assert float(losses["pde"].detach()) < 1e-20 and float(losses["wall"].detach()) < 1e-20
    assert float(losses["data"].detach()) < 3e-4  # the observations' noise, sigma = 0.01


def test_burgers_reference_is_the_packaged_grid(registry: Registry) -> None:
    problem = _build(registry, "+experiment=yaml_burgers")
    assert problem.reference is not None
    points, values = problem.reference
    assert points.shape == (101 * 256, 2) and values.shape == (101 * 256, 1)
    start = points[:, 1] == 0.0  # u(x, 0) = -sin(pi x), columns (x, t)
    assert torch.allclose(values[start, 0], -torch.sin(math.pi * points[start, 0]), atol=1e-6)


def test_parameter_expression_of_constants(registry: Registry) -> None:
    problem = _build(registry, "+experiment=yaml_burgers", "problem.parameters.nu=0.01/pi")
    assert problem.name == "yaml_burgers"  # nu = 0.01/pi folded to a number


def test_csv_reference_and_where(registry: Registry, tmp_path: Path) -> None:
    table = tmp_path / "ref.csv"
    table.write_text("x,y,u\n0.5,-0.5,-1.0\n-0.5,0.5,-1.0\n")
    problem = _build(
        registry, "+experiment=yaml_poisson_lshape", "problem.exact=null",
        f"problem.reference={table}", "problem.constraints.wall.where='x < -0.999'",
    )
    assert problem.reference is not None and problem.reference[0].shape == (2, 2)
    wall = _points(problem)["wall"]["x"]
    assert torch.all(wall[:, 0] < -0.999)


ERRORS = [
    (["problem.constraints.wall.kind=dirichlt"], r"problem\.constraints\.wall\.kind.*'dirichlet'"),
    (["problem.constraints.wall.at=bondary"], r"problem\.constraints\.wall\.at.*'boundary'"),
    (["problem.constraints.pde.residual='-laplacian(v)'"], r"constraints\.pde\.residual.*'v'"),
    (["problem.constraints.pde.residual='partial(u, z, z)'"], r"pde\.residual.*coordinate 'z'"),
    (["problem.constraints.pde.n=0"], r"problem\.constraints\.pde\.n = 0"),
    (["problem.constraints.wall.value=null"], r"problem\.constraints\.wall\.value is missing"),
    (["problem.constraints.wall.outputs=[w]"], r"problem\.constraints\.wall\.outputs.*'w'"),
    (["problem.constraints.pde.sampler=sobl"], r"problem\.constraints\.pde\.sampler.*'sobol'"),
    (
        ["problem.constraints.wall.kind=initial", "problem.constraints.wall.at=initial"],
        r"wall\.at = 'initial'.*problem\.time",
    ),
    (["problem.coordinates=[x]"], r"problem\.coordinates.*pick a 1-D domain \(domain=interval\)"),
    (["problem.constraints.wall.kind=periodic", "problem.constraints.wall.value=null"],
     r"wall: the 'periodic' constraint needs params\.shift"),
    (["+problem.constraints.wall.where='x > 5'"], r"wall\.where = 'x > 5' holds at none of"),
    (["+problem.parameters.pi=3.0"], r"problem\.parameters\.pi: 'pi' is a built-in constant"),
    (["problem.constraints.wall.kind=neumann", "problem.constraints.wall.at=interior"],
     r"problem\.constraints\.wall\.at = 'interior': a 'neumann' condition .* use at: boundary"),
    (["problem.reference=no_such_file", "problem.exact=null"], r"problem\.reference.*burgers"),
    (["+problem.constraints.wall.params.alpha=2.0"], r"problem\.constraints\.wall.*alpha"),
]


@pytest.mark.parametrize(("overrides", "match"), ERRORS)
def test_errors_name_the_key(registry: Registry, overrides: list[str], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        _build(registry, "+experiment=yaml_poisson_lshape", *overrides)


def test_learnable_coefficient_in_a_value_is_refused(registry: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"wall\.value.*learnable.*residual"):
        _build(registry, "+experiment=yaml_inverse", "problem.constraints.wall.value='k*x'")


def test_learnable_coefficient_in_the_exact_solution_is_refused(registry: Registry) -> None:
    with pytest.raises(
        ConfigurationError, match=r"problem\.exact: .*learnable coefficient\(s\) \['k'\]"
    ):
        _build(registry, "+experiment=yaml_inverse", "problem.exact='k*x'")


def test_parameter_must_be_constant(registry: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"problem\.parameters\.alpha.*coordinate"):
        _build(registry, "+experiment=yaml_heat", "problem.parameters.alpha=x")


class _Plugin:
    """A plugin constraint kind and an operator with an expression form."""

    @hookimpl
    def deepinn_constraints(self) -> list[Registration]:
        def build(params: object, **context: object) -> PDEConstraint:
            return PDEConstraint(weight=2.0, **context)  # type: ignore[arg-type]

        @__import__("dataclasses").dataclass
        class Nothing:
            pass

        return [Registration("mypde", build, Nothing, "a plugin PDE kind")]

    @hookimpl
    def deepinn_operators(self) -> list[Registration]:
        def advect(names: tuple[str, ...], scope: object) -> OperatorCall:
            u = scope.output(names[0], "advect")  # type: ignore[attr-defined]
            return OperatorCall(frozenset({scope.key(u, ("x",))}), lambda f: f.partial(u, "x"))  # type: ignore[attr-defined]

        def factory(params: object) -> object:
            return lambda u, x: u

        factory.expression = advect  # type: ignore[attr-defined]

        @__import__("dataclasses").dataclass
        class Nothing:
            pass

        return [Registration("advect", factory, Nothing, "d/dx, with an expression form")]


def test_plugin_constraint_kind_and_operator(tmp_path: Path) -> None:
    registry = load_registry(strict=True, entry_points=[], plugins=[_Plugin()])
    register_configs(registry)
    problem = _build(
        registry, "+experiment=yaml_poisson_lshape", "problem.constraints.pde.kind=mypde",
        "problem.constraints.pde.residual='advect(u) - laplacian(u)'",
    )
    pde = next(c for c in problem.constraints if c.name == "pde")
    assert pde.weight == 1.0  # the spec's weight wins over the plugin's default
    assert (pde.order, pde.second_order, pde.laplacian_only) == (2, ("x", "y"), True)


def test_short_training_reaches_a_sane_error(registry: Registry) -> None:
    torch.set_num_threads(1)
    problem = _build(
        registry, "+experiment=yaml_poisson_lshape", "dtype=float32",
        "problem.constraints.pde.n=500", "problem.constraints.wall.n=200",
    )
    network = build_components(compose(["+experiment=yaml_poisson_lshape"]), registry)[1].float()
    loss = PINNLoss(problem, network)
    points = _points(problem)
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    for _ in range(200):
        optimizer.zero_grad()
        loss(points)[0].backward()
        optimizer.step()
    x, u = problem.evaluation_set(2000)
    with torch.no_grad():
        error = float(relative_l2(network(x.float()).double(), u))
    assert error < 0.3


@pytest.mark.slow
def test_users_own_config_dir_experiment(tmp_path: Path) -> None:
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mypde.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n  - override /problem: custom\n  - override /domain: interval\n  - _self_\n"
        "problem:\n  coordinates: [x]\n  constraints:\n"
        "    pde: {kind: pde, n: 64, residual: '-u_xx - pi**2*sin(pi*x)'}\n"
        "    ends: {kind: dirichlet, n: 2, value: '0'}\n"
        "  exact: sin(pi*x)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "deepinn", "train", "--config-dir", str(tmp_path),
         "+experiment=mypde", "trainer.max_steps=5", "optimizer=adam", "problem.label=mypde",
         "threads=1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    runs = list((tmp_path / "outputs").glob("*/*/metrics.json"))  # named by the experiment
    assert [run.parent.parent.name for run in runs] == ["mypde"]
