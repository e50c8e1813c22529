"""MeshDomain: a closed triangle mesh as a solid, checked against analytic shapes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from deepinn import ConfigurationError, GeometryError, ShapeError
from deepinn.domains import AbstractBoundary, AbstractDomain
from deepinn.spaces import R3, Points

from deepinn_mesh import MeshDomain

# The cube [0, 2]^3 as 8 vertices and 12 outward-wound triangles.
CUBE_VERTICES = [[x, y, z] for x in (0.0, 2.0) for y in (0.0, 2.0) for z in (0.0, 2.0)]
CUBE_FACES = trimesh.creation.box(bounds=[[0, 0, 0], [2, 2, 2]]).faces


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def cube() -> MeshDomain:
    mesh = trimesh.creation.box(bounds=[[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
    return MeshDomain(mesh)


@pytest.fixture(scope="module")
def sphere() -> MeshDomain:
    return MeshDomain(trimesh.creation.icosphere(subdivisions=4, radius=1.0))


def test_is_a_deepinn_domain(cube: MeshDomain) -> None:
    assert isinstance(cube, AbstractDomain) and isinstance(cube.boundary, AbstractBoundary)


def test_space_is_r3_of_the_variable() -> None:
    assert MeshDomain(trimesh.creation.box(), variable="y").space == R3("y")


def test_cube_volume_is_exact(cube: MeshDomain) -> None:
    assert cube.volume == pytest.approx(8.0, rel=1e-12)


def test_cube_surface_area_is_exact(cube: MeshDomain) -> None:
    assert cube.boundary.volume == pytest.approx(24.0, rel=1e-12)


def test_icosphere_volume_approaches_the_ball(sphere: MeshDomain) -> None:
    assert sphere.volume == pytest.approx(4.0 / 3.0 * math.pi, rel=5e-3)


def test_tetrahedron_volume_from_arrays() -> None:
    vertices = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    faces = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]
    assert MeshDomain.from_arrays(vertices, faces).volume == pytest.approx(1.0 / 6.0, rel=1e-12)


def test_inward_wound_mesh_is_flipped_outward() -> None:
    mesh = trimesh.creation.box()
    mesh.invert()
    assert MeshDomain(mesh).volume == pytest.approx(1.0)


def test_bounding_box(cube: MeshDomain) -> None:
    lower, upper = cube.bounding_box()
    assert (lower.tolist(), upper.tolist(), lower.dtype) == (
        [0.0, 0.0, 0.0],
        [2.0, 2.0, 2.0],
        torch.float64,
    )


def test_contains_inside_outside_and_surface(cube: MeshDomain) -> None:
    points = torch.tensor(
        [[1.0, 1.0, 1.0], [3.0, 1.0, 1.0], [2.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, -0.1]],
        dtype=torch.float64,
    )
    assert cube.contains(points).tolist() == [True, False, True, True, False]


def test_contains_accepts_points(cube: MeshDomain) -> None:
    points = Points(torch.tensor([[1.0, 1.0, 1.0]]), R3("x"))
    assert cube.contains(points).tolist() == [True]


def test_contains_rejects_a_wrong_shape(cube: MeshDomain) -> None:
    with pytest.raises(ShapeError, match=r"shape \(N, 3\); got \(4, 2\)"):
        cube.contains(torch.zeros(4, 2))


def test_interior_samples_are_inside_the_ball(sphere: MeshDomain) -> None:
    points = sphere.sample_uniform(2000, _generator())
    assert (points.shape, points.dtype, bool((points.norm(dim=1) <= 1.0 + 1e-12).all())) == (
        (2000, 3),
        torch.float64,
        True,
    )


def test_interior_samples_are_contained(cube: MeshDomain) -> None:
    assert bool(cube.contains(cube.sample_uniform(1000, _generator())).all())


def test_interior_samples_are_uniform(cube: MeshDomain) -> None:
    points = cube.sample_uniform(20000, _generator())
    octant = (points < 1.0).all(dim=1).double().mean().item()
    assert octant == pytest.approx(1.0 / 8.0, abs=0.01)


def test_interior_sampling_is_reproducible(sphere: MeshDomain) -> None:
    first = sphere.sample_uniform(100, _generator(7))
    assert torch.equal(first, sphere.sample_uniform(100, _generator(7)))


def test_zero_samples(cube: MeshDomain) -> None:
    assert cube.sample_uniform(0).shape == (0, 3)


def test_negative_sample_count_is_rejected(cube: MeshDomain) -> None:
    with pytest.raises(ConfigurationError, match="got -1"):
        cube.sample_uniform(-1)


def test_boundary_samples_lie_on_a_cube_face(cube: MeshDomain) -> None:
    points = cube.boundary.sample_uniform(1000, _generator())
    on_face = ((points - 0.0).abs() < 1e-12) | ((points - 2.0).abs() < 1e-12)
    assert bool(on_face.any(dim=1).all())


def test_boundary_samples_are_contained_by_both(cube: MeshDomain) -> None:
    points = cube.boundary.sample_uniform(500, _generator())
    assert (bool(cube.boundary.contains(points).all()), bool(cube.contains(points).all())) == (
        True,
        True,
    )


def test_interior_points_are_not_on_the_boundary(cube: MeshDomain) -> None:
    assert cube.boundary.contains(torch.tensor([[1.0, 1.0, 1.0]])).tolist() == [False]


def test_boundary_samples_are_area_weighted(cube: MeshDomain) -> None:
    points = cube.boundary.sample_uniform(12000, _generator())
    top = ((points[:, 2] - 2.0).abs() < 1e-12).double().mean().item()
    assert top == pytest.approx(1.0 / 6.0, abs=0.015)


def test_cube_normals_are_the_outward_axes(cube: MeshDomain) -> None:
    points = cube.boundary.sample_uniform(500, _generator())
    normals = cube.boundary.normal(points)
    axis = normals.abs().argmax(dim=1)
    coordinate = points.gather(1, axis[:, None]).squeeze(1)
    sign = normals.gather(1, axis[:, None]).squeeze(1)
    expected = torch.where(coordinate > 1.0, 1.0, -1.0).double()
    assert torch.equal(sign, expected)


def test_normals_are_unit(sphere: MeshDomain) -> None:
    normals = sphere.boundary.normal(sphere.boundary.sample_uniform(500, _generator()))
    assert torch.allclose(normals.norm(dim=1), torch.ones(500, dtype=torch.float64))


def test_sphere_normals_point_outward(sphere: MeshDomain) -> None:
    points = sphere.boundary.sample_uniform(500, _generator())
    radial = points / points.norm(dim=1, keepdim=True)
    assert bool(((sphere.boundary.normal(points) * radial).sum(dim=1) > 0.97).all())


def test_boundary_samples_are_near_the_sphere(sphere: MeshDomain) -> None:
    radius = sphere.boundary.sample_uniform(500, _generator()).norm(dim=1)
    assert bool(((radius > 0.99) & (radius <= 1.0 + 1e-12)).all())


def test_from_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cube.stl"
    trimesh.creation.box(bounds=[[0, 0, 0], [2, 2, 2]]).export(path)
    assert MeshDomain.from_file(path).volume == pytest.approx(8.0)


def test_from_file_obj(tmp_path: Path) -> None:
    path = tmp_path / "ball.obj"
    trimesh.creation.icosphere(subdivisions=2).export(path)
    assert MeshDomain.from_file(path).boundary.volume == pytest.approx(
        trimesh.creation.icosphere(subdivisions=2).area
    )


def test_from_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"'.*nowhere\.stl' does not exist"):
        MeshDomain.from_file(tmp_path / "nowhere.stl")


def test_from_file_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "cube.notamesh"
    path.write_text("hello")
    with pytest.raises(ConfigurationError, match="trimesh could not read mesh file"):
        MeshDomain.from_file(path)


def test_open_mesh_is_rejected() -> None:
    mesh = trimesh.creation.box()
    mesh.update_faces(np.arange(len(mesh.faces)) != 0)
    with pytest.raises(GeometryError, match="not closed"):
        MeshDomain(mesh)


def test_not_a_mesh_is_rejected() -> None:
    with pytest.raises(GeometryError, match=r"needs a trimesh\.Trimesh; got list"):
        MeshDomain([[0, 0, 0]])  # type: ignore[arg-type]


def test_faces_out_of_range_are_rejected() -> None:
    with pytest.raises(GeometryError, match="there are 3 vertices"):
        MeshDomain.from_arrays([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 5]])


def test_the_domain_keeps_its_own_copy() -> None:
    mesh = trimesh.creation.box()
    domain = MeshDomain(mesh)
    mesh.apply_scale(3.0)
    assert domain.volume == pytest.approx(1.0)
