"""PolygonWithHoles: the unit square minus a centred square, and other analytic shapes."""

from __future__ import annotations

import pytest
import torch
from deepinn import GeometryError
from deepinn.domains import AbstractBoundary, AbstractDomain
from deepinn.spaces import R2

from deepinn_mesh import PolygonWithHoles

SQUARE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
HOLE = [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _in_hole(points: torch.Tensor) -> torch.Tensor:
    return ((points - 0.5).abs() < 0.25 - 1e-12).all(dim=1)


def _on_hole_ring(points: torch.Tensor) -> torch.Tensor:
    return ((points - 0.5).abs().max(dim=1).values - 0.25).abs() < 1e-12


@pytest.fixture(scope="module")
def frame() -> PolygonWithHoles:
    return PolygonWithHoles(SQUARE, [HOLE])


def test_is_a_deepinn_domain(frame: PolygonWithHoles) -> None:
    assert isinstance(frame, AbstractDomain) and isinstance(frame.boundary, AbstractBoundary)


def test_space_is_r2_of_the_variable() -> None:
    assert PolygonWithHoles(SQUARE, variable="y").space == R2("y")


def test_area_is_shell_minus_holes(frame: PolygonWithHoles) -> None:
    assert frame.volume == pytest.approx(1.0 - 0.25, rel=1e-12)


def test_two_holes_area() -> None:
    holes = [[[0.1, 0.1], [0.3, 0.1], [0.3, 0.3]], [[0.6, 0.6], [0.9, 0.6], [0.9, 0.9], [0.6, 0.9]]]
    assert PolygonWithHoles(SQUARE, holes).volume == pytest.approx(1.0 - 0.02 - 0.09)


def test_perimeter_counts_every_ring(frame: PolygonWithHoles) -> None:
    assert frame.boundary.volume == pytest.approx(4.0 + 2.0, rel=1e-12)


def test_orientation_of_the_input_does_not_matter() -> None:
    clockwise = PolygonWithHoles(SQUARE[::-1], [HOLE])
    assert clockwise.volume == pytest.approx(0.75)


def test_bounding_box(frame: PolygonWithHoles) -> None:
    lower, upper = frame.bounding_box()
    assert (lower.tolist(), upper.tolist(), lower.dtype) == ([0.0, 0.0], [1.0, 1.0], torch.float64)


def test_contains(frame: PolygonWithHoles) -> None:
    points = torch.tensor(
        [[0.1, 0.1], [0.5, 0.5], [1.5, 0.5], [0.25, 0.5], [0.0, 0.0], [0.5, 1.0 + 1e-3]],
        dtype=torch.float64,
    )
    assert frame.contains(points).tolist() == [True, False, False, True, True, False]


def test_interior_samples_avoid_the_hole(frame: PolygonWithHoles) -> None:
    points = frame.sample_uniform(4000, _generator())
    inside_square = ((points >= 0.0) & (points <= 1.0)).all(dim=1)
    assert (bool(inside_square.all()), bool(_in_hole(points).any())) == (True, False)


def test_interior_samples_are_contained(frame: PolygonWithHoles) -> None:
    assert bool(frame.contains(frame.sample_uniform(2000, _generator())).all())


def test_interior_samples_are_uniform(frame: PolygonWithHoles) -> None:
    points = frame.sample_uniform(40000, _generator())
    left_strip = (points[:, 0] < 0.25).double().mean().item()  # area 0.25 of 0.75
    assert left_strip == pytest.approx(1.0 / 3.0, abs=0.01)


def test_interior_sampling_is_reproducible(frame: PolygonWithHoles) -> None:
    first = frame.sample_uniform(100, _generator(3))
    assert torch.equal(first, frame.sample_uniform(100, _generator(3)))


def test_boundary_samples_lie_on_a_ring(frame: PolygonWithHoles) -> None:
    points = frame.boundary.sample_uniform(2000, _generator())
    on_shell = ((points - 0.5).abs().max(dim=1).values - 0.5).abs() < 1e-12
    assert bool((on_shell | _on_hole_ring(points)).all())


def test_boundary_samples_are_contained_by_both(frame: PolygonWithHoles) -> None:
    points = frame.boundary.sample_uniform(500, _generator())
    assert (bool(frame.boundary.contains(points).all()), bool(frame.contains(points).all())) == (
        True,
        True,
    )


def test_boundary_samples_are_length_weighted(frame: PolygonWithHoles) -> None:
    points = frame.boundary.sample_uniform(30000, _generator())
    assert _on_hole_ring(points).double().mean().item() == pytest.approx(2.0 / 6.0, abs=0.01)


def test_normals_are_unit(frame: PolygonWithHoles) -> None:
    normals = frame.boundary.normal(frame.boundary.sample_uniform(500, _generator()))
    assert torch.allclose(normals.norm(dim=1), torch.ones(500, dtype=torch.float64))


def test_shell_normals_point_away_from_the_centre(frame: PolygonWithHoles) -> None:
    points = frame.boundary.sample_uniform(2000, _generator())
    shell = points[~_on_hole_ring(points)]
    outward = ((frame.boundary.normal(shell) * (shell - 0.5)).sum(dim=1) > 0).all()
    assert bool(outward)


def test_hole_normals_point_into_the_hole(frame: PolygonWithHoles) -> None:
    points = frame.boundary.sample_uniform(2000, _generator())
    ring = points[_on_hole_ring(points)]
    into_hole = ((frame.boundary.normal(ring) * (ring - 0.5)).sum(dim=1) < 0).all()
    assert bool(into_hole)


def test_normal_of_a_known_point(frame: PolygonWithHoles) -> None:
    points = torch.tensor([[0.25, 0.5], [0.5, 0.0], [0.5, 0.75]], dtype=torch.float64)
    assert frame.boundary.normal(points).tolist() == [[1.0, 0.0], [0.0, -1.0], [0.0, -1.0]]


def test_hole_outside_the_shell_is_rejected() -> None:
    with pytest.raises(GeometryError, match="not valid"):
        PolygonWithHoles(SQUARE, [[[2.0, 2.0], [3.0, 2.0], [3.0, 3.0]]])


def test_self_intersecting_shell_is_rejected() -> None:
    with pytest.raises(GeometryError, match="Self-intersection"):
        PolygonWithHoles([[0, 0], [1, 1], [1, 0], [0, 1]])


def test_too_few_vertices_are_rejected() -> None:
    with pytest.raises(GeometryError, match=r"shell must be a list of at least 3 \[x, y\]"):
        PolygonWithHoles([[0, 0], [1, 0]])


def test_bad_hole_is_named() -> None:
    with pytest.raises(GeometryError, match="hole 1 must be"):
        PolygonWithHoles(SQUARE, [HOLE, [[0.1, 0.1, 0.1]]])
