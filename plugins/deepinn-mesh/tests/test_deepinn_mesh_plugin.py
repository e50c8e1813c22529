"""The installed plugin: registered through the ``deepinn`` entry point, built by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import trimesh
from deepinn import ConfigurationError
from deepinn.plugins import Registry, load_registry
from omegaconf import OmegaConf

import deepinn_mesh.plugin
from deepinn_mesh import MeshDomain, PolygonWithHoles


@pytest.fixture
def registry() -> Registry:
    """Only installed entry points (no built-ins), strictly: a fresh registry per test."""
    return load_registry(strict=True, builtins=False, disabled=())


@pytest.mark.parametrize("name", ["mesh", "polygon_with_holes"])
def test_registered_by_the_installed_distribution(registry: Registry, name: str) -> None:
    registration = registry.get("domains", name)
    assert (registration.provider, registration.distribution) == ("mesh", "deepinn-mesh")


def test_registered_next_to_the_builtins() -> None:
    registry = load_registry(strict=True, disabled=())
    assert {"mesh", "polygon_with_holes"} <= set(registry.names("domains"))


def test_loads_without_installing() -> None:
    registry = load_registry(
        plugins=[deepinn_mesh.plugin], entry_points=(), builtins=False, strict=True
    )
    assert registry.names("domains") == ["mesh", "polygon_with_holes"]


def test_disabled_by_entry_point_name() -> None:
    registry = load_registry(strict=True, builtins=False, disabled=["mesh"])
    assert "mesh" not in registry.names("domains")


def test_default_mesh_is_the_unit_icosphere(registry: Registry) -> None:
    domain = registry.build("domains", "mesh")
    expected = trimesh.creation.icosphere(subdivisions=2).volume
    assert (type(domain), domain.volume) == (MeshDomain, pytest.approx(expected))


def test_box_primitive_is_the_unit_cube(registry: Registry) -> None:
    domain = registry.build("domains", "mesh", {"primitive": "box"})
    assert [bound.tolist() for bound in domain.bounding_box()] == [[0.0] * 3, [1.0] * 3]


def test_mesh_from_a_file(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "part.stl"
    trimesh.creation.box(bounds=[[0, 0, 0], [1, 2, 3]]).export(path)
    assert registry.build("domains", "mesh", {"path": str(path)}).volume == pytest.approx(6.0)


def test_mesh_variable(registry: Registry) -> None:
    assert registry.build("domains", "mesh", {"variable": "y"}).space.names == ("y",)


def test_mesh_missing_file(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"missing\.stl' does not exist"):
        registry.build("domains", "mesh", {"path": str(tmp_path / "missing.stl")})


def test_mesh_unknown_primitive(registry: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"primitive='cone'.*icosphere, box"):
        registry.build("domains", "mesh", {"primitive": "cone"})


def test_mesh_unknown_key(registry: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"at key 'radius'.*'path'"):
        registry.build("domains", "mesh", {"radius": 2.0})


def test_default_polygon_is_the_square_minus_a_square(registry: Registry) -> None:
    domain = registry.build("domains", "polygon_with_holes")
    assert (type(domain), domain.volume) == (PolygonWithHoles, pytest.approx(0.75))


def test_polygon_with_integer_vertices_from_the_command_line(registry: Registry) -> None:
    params = OmegaConf.from_dotlist(["shell=[[0,0],[2,0],[2,1],[0,1]]", "holes=[]"])
    assert registry.build("domains", "polygon_with_holes", params).volume == pytest.approx(2.0)


def test_polygon_bad_shell_names_the_field(registry: Registry) -> None:
    with pytest.raises(ConfigurationError, match="polygon_with_holes: The shell must be"):
        registry.build("domains", "polygon_with_holes", {"shell": [[0, 0], [1, 0]]})


def test_schemas_are_structured_configs() -> None:
    node = OmegaConf.structured(deepinn_mesh.plugin.PolygonWithHolesParams)
    assert OmegaConf.to_container(node)["holes"] == [
        [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]
    ]
