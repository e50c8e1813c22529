"""The built-in domain registrations: names, schemas, defaults and factories."""

from __future__ import annotations

import math

import pytest
import torch

import deepinn as dp

EXPECTED = {
    "interval": (1, 1.0),
    "parallelogram": (2, 1.0),
    "circle": (2, math.pi / 4),
    "triangle": (2, 0.5),
    "polygon": (2, 0.75),
    "box": (3, 1.0),
    "sphere": (3, math.pi / 6),
}


def test_every_builtin_domain_is_registered(registry: dp.plugins.Registry) -> None:
    assert set(EXPECTED) <= set(registry.names("domains"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_domain_builds_with_its_defaults(registry: dp.plugins.Registry, name: str) -> None:
    dim, volume = EXPECTED[name]
    domain = registry.build("domains", name)
    assert isinstance(domain, dp.domains.AbstractDomain)
    assert domain.space == dp.spaces.Rn("x", dim)
    assert domain.volume == pytest.approx(volume)
    assert bool(domain.contains(domain.sample_uniform(50)).all())


def test_default_polygon_is_not_convex(registry: dp.plugins.Registry) -> None:
    polygon = registry.build("domains", "polygon")
    assert not bool(polygon.contains(torch.tensor([[0.75, 0.75]])).any())


def test_domain_parameters_override_defaults(registry: dp.plugins.Registry) -> None:
    circle = registry.build("domains", "circle", {"radius": 2.0, "center": [0, 0], "variable": "y"})
    assert circle.space == dp.spaces.R2("y")
    assert circle.volume == pytest.approx(4 * math.pi)


def test_interval_variable_names_the_space(registry: dp.plugins.Registry) -> None:
    interval = registry.build("domains", "interval", {"lower": 0.0, "upper": 5.0, "variable": "t"})
    assert interval.space == dp.spaces.R1("t")
    assert interval.volume == 5.0


def test_bad_geometry_from_config_names_the_problem(registry: dp.plugins.Registry) -> None:
    with pytest.raises(
        dp.GeometryError, match=r"origin has 3 coordinates but space R2\('x'\) has 2"
    ):
        registry.build("domains", "parallelogram", {"origin": [0.0, 0.0, 0.0]})


def test_unknown_domain_parameter_is_a_configuration_error(registry: dp.plugins.Registry) -> None:
    with pytest.raises(dp.ConfigurationError, match="radius"):
        registry.build("domains", "circle", {"radus": 1.0})


def test_polygon_accepts_integer_vertices_and_checks_each() -> None:
    from deepinn import ConfigurationError
    from deepinn.plugins import load_registry

    registry = load_registry(strict=True)
    triangle = registry.domains.build("polygon", {"vertices": [[0, 0], [1, 0], [0, 1]]})
    assert triangle.volume == pytest.approx(0.5)
    with pytest.raises(
        ConfigurationError, match=r"domain.vertices\[1\] = \[1, 0, 2\]; each vertex is two numbers"
    ):
        registry.domains.build("polygon", {"vertices": [[0, 0], [1, 0, 2], [0, 1]]})
