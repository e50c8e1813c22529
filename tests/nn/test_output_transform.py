"""Conditions held exactly by an output transform: Problem.output_transform, problem=custom's
``output_transform`` and problem=burgers' ``exact_conditions``."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import DictConfig

import deepinn as dp
from deepinn import ConfigurationError, ShapeError
from deepinn.app import build_components, compose, register_configs
from deepinn.plugins import Registry, load_registry
from deepinn.problems import Problem
from deepinn.training import CollocationData, RunConfig, adam, fit
from deepinn.training.step._loss import PINNLoss

HEAT = [
    "problem=custom", "domain=interval", "domain.lower=0.0", "domain.upper=1.0",
    "problem.coordinates=[x,t]", "problem.time=[0.0,1.0]", "dtype=float64",
    "+problem.constraints={pde: {kind: pde, n: 400, residual: 'u_t - u_xx/pi**2'}}",
    "problem.exact='exp(-t) * sin(pi*x)'",
    "problem.output_transform='sin(pi*x) + t*x*(1 - x)*u'",
    "net.hidden=[16,16]",
]
"""u_t = u_xx / pi^2 on [0, 1]^2 with u = 0 at both ends and u = sin(pi x) at t = 0, the two
conditions held by the transform, so the PDE is the only loss term."""


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = load_registry(strict=True, entry_points=[])
    register_configs(registry)
    return registry


def _components(registry: Registry, *overrides: str) -> tuple[Problem, torch.nn.Module]:
    cfg: DictConfig = compose(list(overrides))
    problem, network, _ = build_components(cfg, registry)
    return problem, network.double()


def _grid(n: int = 21) -> tuple[torch.Tensor, torch.Tensor]:
    s = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
    return s, torch.zeros_like(s)


def test_the_transform_holds_its_conditions_for_any_weights(registry: Registry) -> None:
    problem, network = _components(registry, *HEAT)
    solution = PINNLoss(problem, network).network
    s, zero = _grid()
    start = torch.stack([s, zero], dim=1)
    ends = torch.tensor([[0.0, 0.3], [1.0, 0.3], [0.0, 0.9], [1.0, 0.9]], dtype=torch.float64)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(torch.randn_like(parameter))
        torch.testing.assert_close(
            solution(start)[:, 0], torch.sin(math.pi * s), rtol=0, atol=1e-14
        )
        assert torch.all(solution(ends).abs() < 1e-14)
        inside = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
        raw = network(inside)
        want = 1.0 + 0.5 * 0.25 * raw
        torch.testing.assert_close(solution(inside), want)


def test_derivatives_are_taken_through_the_transform(registry: Registry) -> None:
    """With the exact solution as the raw network, the transformed residual is the PDE's."""
    problem, network = _components(registry, *HEAT)
    points = CollocationData(problem, RunConfig(dtype="float64")).global_points(0)
    loss = PINNLoss(problem, network, RunConfig(field_mode="reverse"))
    total, losses = loss(points)
    assert list(losses) == ["pde"] and float(total.detach()) > 0.0

    class Exact(torch.nn.Module):
        """The raw output whose transform is the exact solution exp(-t) sin(pi x)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s, t = x[:, 0:1], x[:, 1:2]
            return torch.sin(math.pi * s) * (torch.exp(-t) - 1.0) / (t * s * (1.0 - s))

    exact_loss = PINNLoss(problem, Exact(), RunConfig(field_mode="reverse"))(points)[0]
    assert float(exact_loss.detach()) < 1e-20


def test_training_with_only_the_pde_term_reaches_the_solution(registry: Registry) -> None:
    torch.set_num_threads(1)
    problem, network = _components(registry, *HEAT)
    result = fit(
        problem, network, phases=adam(1e-2), max_steps=300, seed=0, run_dir=None,
        dtype=torch.float64, val_every=300, eval_points=1000, logger=False,
        trainer_options={"accelerator": "cpu", "devices": 1, "enable_progress_bar": False},
    )
    assert isinstance(result.network, dp.nn.OutputTransform)
    assert result.metrics["rel_l2"] < 2e-2


def test_a_network_already_wrapped_in_the_problems_transform_is_not_wrapped_again(
    registry: Registry,
) -> None:
    """Training a fit's returned network (already transformed) on, must not transform twice."""
    problem, network = _components(registry, *HEAT)
    solution = PINNLoss(problem, network).network
    assert PINNLoss(problem, solution).network is solution


def test_burgers_exact_conditions(registry: Registry) -> None:
    problem, network = _components(registry, "problem=burgers", "problem.exact_conditions=true")
    plain, _ = _components(registry, "problem=burgers")
    assert [c.name for c in problem.constraints] == ["pde"]
    assert [c.name for c in plain.constraints] == ["pde", "boundary", "initial"]
    assert plain.output_transform is None
    solution = PINNLoss(problem, network).network
    s = torch.linspace(-1.0, 1.0, 41, dtype=torch.float64)
    with torch.no_grad():
        start = solution(torch.stack([s, torch.zeros_like(s)], dim=1))[:, 0]
        torch.testing.assert_close(start, -torch.sin(math.pi * s), rtol=0, atol=1e-14)
        t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
        for end in (-1.0, 1.0):
            walls = solution(torch.stack([torch.full_like(t, end), t], dim=1))
            assert torch.all(walls.abs() < 1e-14)


def test_several_outputs_transform_only_those_named(registry: Registry) -> None:
    problem, _ = _components(
        registry, *HEAT[:-2], "problem.outputs=[u,v]",
        "problem.constraints.pde.residual='u_t - u_xx/pi**2 + v'",
        "problem.exact={u: 'exp(-t)*sin(pi*x)', v: '0'}",
        "problem.output_transform={v: 't*v'}", "net.hidden=[8]",
    )
    assert problem.output_transform is not None
    x = torch.tensor([[0.2, 0.0], [0.7, 0.5]], dtype=torch.float64)
    raw = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    want = torch.tensor([[1.0, 0.0], [3.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(problem.output_transform(x, raw), want)


ERRORS = [
    ("problem.output_transform={w: 'u'}", r"problem\.output_transform names \['w'\].*\['u'\]"),
    ("problem.output_transform='u + y'", r"problem\.output_transform.*'y'"),
    ("problem.output_transform='u_x'", r"problem\.output_transform"),
    ("problem.output_transform=3", r"problem\.output_transform = 3"),
    ("problem.output_transform='sin(pi*x)'", r"does not use the network's output.*g \+ d\*u"),
]


@pytest.mark.parametrize(("override", "match"), ERRORS)
def test_a_bad_transform_is_refused_naming_the_key(
    registry: Registry, override: str, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        _components(registry, *HEAT[:-2], override)


def test_a_transform_of_the_wrong_shape_or_not_callable_is_refused() -> None:
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    net = dp.nn.FullyConnected([2, 4, 1], "tanh", bounds=None)
    wrapped = dp.nn.OutputTransform(net, lambda x, raw: torch.cat([raw, raw], dim=1))
    with pytest.raises(ShapeError, match=r"output transform returned.*same shape"):
        wrapped(torch.zeros(3, 2))
    sampler = dp.samplers.RandomUniformSampler(square, 10, seed=0)
    constraint = dp.constraints.PDEConstraint("pde", sampler, lambda field: field["u"])
    with pytest.raises(ConfigurationError, match=r"output_transform.*not callable"):
        Problem("p", square, [constraint], output_transform="u + 1")  # type: ignore[arg-type]


def test_burgers_exact_conditions_must_be_a_bool() -> None:
    from deepinn.problems._burgers import BurgersParams

    with pytest.raises(ConfigurationError, match="exact_conditions = 'yes'; use true or false"):
        BurgersParams(exact_conditions="yes")  # type: ignore[arg-type]
