"""The installed plugin: every kind registered through the entry point, and Hydra-selectable."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from deepinn.plugins import KINDS, Registry, load_registry
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

import deepinn_example.plugin

COMPONENTS = {
    "spaces": "spacetime",
    "domains": "annulus",
    "samplers": "jittered_grid",
    "constraints": "pointwise_source",
    "operators": "biharmonic",
    "networks": "example_resmlp",
    "problems": "poisson_annulus",
    "callbacks": "example_residual_histogram",
}


@pytest.fixture
def registry() -> Registry:
    """Built-ins plus every installed plugin, strictly: a fresh registry per test."""
    return load_registry(strict=True, disabled=())


def test_one_component_of_every_kind() -> None:
    assert sorted(COMPONENTS) == sorted(KINDS)


@pytest.mark.parametrize(("kind", "name"), sorted(COMPONENTS.items()))
def test_registered_by_the_installed_distribution(registry: Registry, kind: str, name: str) -> None:
    registration = registry.get(kind, name)
    assert (registration.provider, registration.distribution) == ("example", "deepinn-example")
    assert dataclasses.is_dataclass(registration.schema) and registration.summary


def test_loads_without_installing() -> None:
    registry = load_registry(
        plugins=[deepinn_example.plugin], entry_points=(), builtins=False, strict=True
    )
    assert {kind: registry.names(kind) for kind in KINDS} == {
        kind: [name] for kind, name in COMPONENTS.items()
    }


def test_disabled_by_entry_point_name() -> None:
    registry = load_registry(strict=True, disabled=["example"])
    assert "annulus" not in registry.names("domains")


@pytest.mark.parametrize(("kind", "name"), sorted(COMPONENTS.items()))
def test_default_parameters_validate(registry: Registry, kind: str, name: str) -> None:
    params = registry.params(kind, name)
    assert isinstance(params, registry.get(kind, name).schema)


def test_every_component_builds_through_the_registry(registry: Registry) -> None:
    space = registry.build("spaces", "spacetime")
    annulus = registry.build("domains", "annulus", {"inner": 0.25})
    sampler = registry.build("samplers", "jittered_grid", domain=annulus, n_points=50, seed=0)
    problem = registry.build(
        "problems",
        "poisson_annulus",
        {"n_interior": 50, "n_boundary": 20},
        domain=annulus,
        make_sampler=lambda domain, n: registry.build(
            "samplers", "jittered_grid", domain=domain, n_points=n, seed=1
        ),
    )
    # Not registry.build(...): its own `name` argument swallows the constraint's `name=` context.
    registration = registry.get("constraints", "pointwise_source")
    constraint = registration.factory(
        registry.params("constraints", "pointwise_source", {"width": 0.2}),
        name="pde",
        sampler=sampler,
        sources=[((0.0, 0.0), 1.0)],
    )
    net = registry.build(
        "networks",
        "example_resmlp",
        {"width": 8},
        in_dim=2,
        out_dim=1,
        bounds=annulus.bounding_box(),
    )
    x = annulus.sample_uniform(10).requires_grad_(True)
    operator = registry.build("operators", "biharmonic")
    assert space.names == ("t", "x") and space.dim == 3
    assert annulus.volume == pytest.approx(torch.pi * (1.0 - 0.0625))
    assert sampler.sample_points().as_tensor.shape == (50, 2)
    assert [c.name for c in problem.constraints] == ["pde", "boundary"]
    assert constraint.width == 0.2
    assert operator(net.double(), x).shape == (10, 1)


def test_components_are_hydra_options(registry: Registry) -> None:
    """Each schema is a structured config: selectable and overridable with no YAML file."""
    from deepinn.app import GROUPS, register_configs

    register_configs(registry)
    groups = {kind: group for group, kind in GROUPS.items()}
    selectable = {kind: name for kind, name in COMPONENTS.items() if kind in groups}
    overrides = [f"+{groups[kind]}={name}" for kind, name in selectable.items()]
    GlobalHydra.instance().clear()
    with initialize(config_path=None, version_base=None):
        cfg = compose(overrides=[*overrides, "domain.inner=0.25", "net.width=16"])
    for kind, name in selectable.items():
        node = cfg[groups[kind]]
        assert node.name == name
        registry.params(kind, name, node)
    assert (cfg.domain.inner, cfg.net.width) == (0.25, 16)


EXPERIMENT = """\
# @package _global_
defaults:
  - override /problem: custom
  - override /domain: parallelogram
  - _self_
problem:
  coordinates: [x, y]
  outputs: [u]
  constraints:
    src:
      kind: pointwise_source
      n: 64
      outputs: [u]
      params: {sources: [[[0.5, 0.5], 1.0]]}
    walls: {kind: dirichlet, n: 16, value: "0"}
"""


def test_the_constraint_kind_works_in_a_problem_written_in_yaml(
    registry: Registry, tmp_path
) -> None:
    from deepinn.app import build_components, compose, register_configs

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "ptsrc.yaml").write_text(EXPERIMENT)
    register_configs(registry)
    problem, _, _ = build_components(compose(["+experiment=ptsrc"], str(tmp_path)), registry)
    source = problem.constraints[0]
    assert type(source).__name__ == "PointwiseSource" and source.name == "src"
    assert source.sample(torch.Generator().manual_seed(0))["x"].shape == (64, 2)
