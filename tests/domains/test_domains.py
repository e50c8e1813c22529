"""Primitive domains: containment, volumes, boundaries, normals, uniformity, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import deepinn as dp
from deepinn.domains import (
    Box,
    Circle,
    Interval,
    Parallelogram,
    Polygon,
    Sphere,
    Triangle,
)
from deepinn.spaces import R1, R2, R3

X2 = R2("x")
X3 = R3("x")
L_SHAPE = [[0, 0], [1, 0], [1, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]]

# name -> (factory, exact volume, exact boundary measure)
DOMAINS = {
    "interval": (lambda: Interval(R1("t"), -1.0, 2.0), 3.0, 2.0),
    "square": (lambda: Parallelogram(X2, [0, 0], [1, 0], [0, 1]), 1.0, 4.0),
    "rotated_parallelogram": (
        lambda: Parallelogram(X2, [1, 1], [2, 2], [0, 2]),
        2.0,
        4 * math.sqrt(2),
    ),
    "clockwise_parallelogram": (lambda: Parallelogram(X2, [0, 0], [0, 1], [2, 0]), 2.0, 6.0),
    "circle": (lambda: Circle(X2, [0.5, -0.5], 0.75), math.pi * 0.75**2, 2 * math.pi * 0.75),
    "triangle": (lambda: Triangle(X2, [0, 0], [2, 0], [0, 1]), 1.0, 3 + math.sqrt(5)),
    "clockwise_triangle": (lambda: Triangle(X2, [0, 0], [0, 1], [2, 0]), 1.0, 3 + math.sqrt(5)),
    "l_polygon": (lambda: Polygon(X2, L_SHAPE), 0.75, 4.0),
    "clockwise_polygon": (lambda: Polygon(X2, L_SHAPE[::-1]), 0.75, 4.0),
    "box": (lambda: Box.axis_aligned(X3, [0, 0, 0], [2, 1, 1]), 2.0, 10.0),
    "skew_box": (
        lambda: Box(X3, [0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 1]),
        1.0,
        4 + 2 * math.sqrt(2),
    ),
    "sphere": (lambda: Sphere(X3, [1, 0, 0], 0.5), 4 / 3 * math.pi * 0.125, 4 * math.pi * 0.25),
}
NAMES = sorted(DOMAINS)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _monte_carlo_volume(domain: dp.domains.AbstractDomain, n: int = 200_000) -> float:
    lower, upper = domain.bounding_box()
    u = torch.rand(n, domain.dim, generator=_gen(123), dtype=torch.float64)
    inside = domain.contains(lower + u * (upper - lower))
    return float((upper - lower).prod()) * float(inside.double().mean())


@pytest.mark.parametrize("name", NAMES)
def test_sampled_interior_points_lie_inside(name: str) -> None:
    domain = DOMAINS[name][0]()
    points = domain.sample_uniform(2000, _gen())
    assert points.shape == (2000, domain.dim)
    assert points.dtype == torch.float64
    assert bool(domain.contains(points).all())


@pytest.mark.parametrize("name", NAMES)
def test_volume_matches_exact_value(name: str) -> None:
    factory, volume, _ = DOMAINS[name]
    assert factory().volume == pytest.approx(volume, rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_volume_matches_monte_carlo_estimate(name: str) -> None:
    domain = DOMAINS[name][0]()
    assert _monte_carlo_volume(domain) == pytest.approx(domain.volume, rel=0.02)


@pytest.mark.parametrize("name", NAMES)
def test_boundary_measure_matches_exact_value(name: str) -> None:
    factory, _, measure = DOMAINS[name]
    assert factory().boundary.volume == pytest.approx(measure, rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_samples_are_uniform(name: str) -> None:
    """The share of samples left of the box midpoint matches the share of volume there."""
    domain = DOMAINS[name][0]()
    lower, upper = domain.bounding_box()
    middle = float(0.5 * (lower[0] + upper[0]))
    u = torch.rand(100_000, domain.dim, generator=_gen(9), dtype=torch.float64)
    candidates = lower + u * (upper - lower)
    inside = candidates[domain.contains(candidates)]
    expected = float((inside[:, 0] <= middle).double().mean())
    points = domain.sample_uniform(20_000, _gen(5))
    assert float((points[:, 0] <= middle).double().mean()) == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("name", NAMES)
def test_boundary_points_lie_on_boundary_in_float32(name: str) -> None:
    domain = DOMAINS[name][0]()
    points = domain.boundary.sample_uniform(1000, _gen(1))
    single = points.float()
    assert bool(domain.boundary.contains(single).all())
    assert float(domain.boundary.distance(single).max()) < 1e-5
    assert bool(domain.contains(single).all())


@pytest.mark.parametrize("name", NAMES)
def test_normals_are_unit_and_outward(name: str) -> None:
    domain = DOMAINS[name][0]()
    points = domain.boundary.sample_uniform(500, _gen(2))
    normals = domain.boundary.normal(points)
    assert normals.shape == points.shape
    assert torch.allclose(normals.norm(dim=1), torch.ones(500, dtype=torch.float64))
    eps = 1e-4
    assert not bool(domain.contains(points + eps * normals).any())
    assert bool(domain.contains(points - eps * normals).all())


@pytest.mark.parametrize("name", NAMES)
def test_from_unit_maps_the_cube_into_the_domain(name: str) -> None:
    domain = DOMAINS[name][0]()
    u = torch.rand(1000, domain.intrinsic_dim, generator=_gen(3), dtype=torch.float64)
    assert bool(domain.contains(domain.from_unit(u)).all())
    if domain.boundary.intrinsic_dim > 0:
        ub = torch.rand(1000, domain.boundary.intrinsic_dim, generator=_gen(4), dtype=torch.float64)
        assert bool(domain.boundary.contains(domain.boundary.from_unit(ub)).all())


@pytest.mark.parametrize("name", NAMES)
def test_bounding_box_holds_samples(name: str) -> None:
    domain = DOMAINS[name][0]()
    lower, upper = domain.bounding_box()
    assert lower.dtype == upper.dtype == torch.float64
    points = domain.sample_uniform(1000, _gen())
    assert bool((points >= lower - 1e-12).all() and (points <= upper + 1e-12).all())


def test_boundary_pieces_are_weighted_by_measure() -> None:
    rectangle = Parallelogram.axis_aligned(X2, [0, 0], [2, 1])
    points = rectangle.boundary.sample_uniform(30_000, _gen())
    on_long_edges = ((points[:, 1] == 0) | (points[:, 1] == 1)).double().mean()
    assert float(on_long_edges) == pytest.approx(4 / 6, abs=0.015)


def test_disk_samples_follow_area() -> None:
    disk = Circle(X2, [0, 0], 2.0)
    radii = disk.sample_uniform(40_000, _gen()).norm(dim=1)
    assert float((radii <= 1.0).double().mean()) == pytest.approx(0.25, abs=0.01)


def test_ball_samples_follow_volume() -> None:
    ball = Sphere(X3, [0, 0, 0], 1.0)
    radii = ball.sample_uniform(40_000, _gen()).norm(dim=1)
    assert float((radii <= 0.5).double().mean()) == pytest.approx(0.125, abs=0.01)


def test_sphere_surface_samples_are_uniform_in_height() -> None:
    points = Sphere(X3, [0, 0, 0], 1.0).boundary.sample_uniform(40_000, _gen())
    assert float((points[:, 2] > 0.5).double().mean()) == pytest.approx(0.25, abs=0.01)


def test_circle_boundary_distance_is_radial() -> None:
    circle = Circle(X2, [1, 2], 3.0)
    points = circle.boundary.sample_uniform(100, _gen())
    center = torch.tensor([1.0, 2.0], dtype=torch.float64)
    radii = (points - center).norm(dim=1)
    assert torch.allclose(radii, torch.full((100,), 3.0, dtype=torch.float64))
    normals = circle.boundary.normal(points)
    assert torch.allclose(normals, (points - center) / 3.0)


def test_interval_boundary_is_two_points_with_signed_normals() -> None:
    interval = Interval(R1("t"), 0.0, 2.0)
    points = interval.boundary.sample_uniform(200, _gen())
    assert set(points[:, 0].tolist()) == {0.0, 2.0}
    normals = interval.boundary.normal(points)
    assert torch.equal(normals, torch.where(points == 0.0, -1.0, 1.0).double())


def test_contains_accepts_lists_arrays_and_points() -> None:
    square = Parallelogram(X2, [0, 0], [1, 0], [0, 1])
    expected = torch.tensor([True, False])
    rows = [[0.5, 0.5], [1.5, 0.5]]
    assert torch.equal(square.contains(rows), expected)
    assert torch.equal(square.contains(np.array(rows)), expected)
    assert torch.equal(square.contains(dp.spaces.Points(torch.tensor(rows), X2)), expected)


def test_contains_picks_the_domain_variables_of_larger_points() -> None:
    square = Parallelogram(X2, [0, 0], [1, 0], [0, 1])
    space = R1("t") * X2
    points = dp.spaces.Points(torch.tensor([[9.0, 0.5, 0.5], [0.5, 2.0, 0.5]]), space)
    assert torch.equal(square.contains(points), torch.tensor([True, False]))


def test_contains_is_closed_with_tolerance() -> None:
    square = Parallelogram(X2, [0, 0], [1, 0], [0, 1])
    assert torch.equal(
        square.contains([[1.0, 1.0], [1.0 + 1e-9, 0.5], [1.0 + 1e-3, 0.5]]),
        torch.tensor([True, True, False]),
    )


def test_polygon_contains_respects_the_notch() -> None:
    polygon = Polygon(X2, L_SHAPE)
    assert torch.equal(
        polygon.contains([[0.25, 0.75], [0.75, 0.25], [0.75, 0.75], [0.5, 0.75]]),
        torch.tensor([True, True, False, True]),
    )


def test_polygon_triangulation_covers_its_area() -> None:
    star = [[0, 0], [2, 1], [4, 0], [3, 2], [4, 4], [2, 3], [0, 4], [1, 2]]
    polygon = Polygon(X2, star)
    assert polygon.volume == pytest.approx(_monte_carlo_volume(polygon), rel=0.02)
    assert bool(polygon.contains(polygon.sample_uniform(3000, _gen())).all())


# ---- hypothesis: random shapes -------------------------------------------------------------

coordinate = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


@settings(max_examples=10, deadline=None)
@given(st.lists(coordinate, min_size=6, max_size=6), st.integers(0, 2**16))
def test_random_triangles_sample_inside_with_outward_normals(
    coords: list[float], seed: int
) -> None:
    a, b, c = np.array(coords).reshape(3, 2)
    ab, ac, bc = b - a, c - a, c - b
    twice_area = abs(ab[0] * ac[1] - ab[1] * ac[0])
    lengths = [np.linalg.norm(v) for v in (ab, ac, bc)]
    assume(min(lengths) > 0.5 and twice_area / max(lengths) ** 2 > 0.2)  # not too thin
    triangle = Triangle(X2, a, b, c)
    assert triangle.volume == pytest.approx(twice_area / 2)
    assert bool(triangle.contains(triangle.sample_uniform(300, _gen(seed))).all())
    points = triangle.boundary.sample_uniform(300, _gen(seed))
    normals = triangle.boundary.normal(points)
    corners = torch.tensor(np.array([a, b, c]))
    away = torch.cdist(points, corners).min(dim=1).values > 1e-2  # corners: normals ambiguous
    eps = 1e-4
    assert not bool(triangle.contains(points[away] + eps * normals[away]).any())
    assert bool(triangle.contains(points[away] - eps * normals[away]).all())


@settings(max_examples=15, deadline=None)
@given(coordinate, coordinate, st.floats(0.01, 10), st.integers(0, 2**16))
def test_random_circles(cx: float, cy: float, radius: float, seed: int) -> None:
    circle = Circle(X2, [cx, cy], radius)
    points = circle.boundary.sample_uniform(200, _gen(seed))
    center = torch.tensor([cx, cy], dtype=torch.float64)
    assert float(((points - center).norm(dim=1) - radius).abs().max()) < 1e-9 * max(1, radius)
    assert bool(circle.contains(circle.sample_uniform(200, _gen(seed))).all())


@settings(max_examples=15, deadline=None)
@given(st.lists(coordinate, min_size=6, max_size=6), st.integers(0, 2**16))
def test_random_parallelograms(coords: list[float], seed: int) -> None:
    o, c1, c2 = np.array(coords).reshape(3, 2)
    e1, e2 = c1 - o, c2 - o
    det = abs(e1[0] * e2[1] - e1[1] * e2[0])
    assume(np.linalg.norm(e1) > 0.5 and np.linalg.norm(e2) > 0.5)
    assume(det > 0.3 * np.linalg.norm(e1) * np.linalg.norm(e2))
    shape = Parallelogram(X2, o, c1, c2)
    assert shape.volume == pytest.approx(det)
    assert bool(shape.contains(shape.sample_uniform(300, _gen(seed))).all())
    boundary = shape.boundary.sample_uniform(300, _gen(seed))
    assert bool(shape.boundary.contains(boundary).all())
    assert shape.boundary.volume == pytest.approx(2 * (np.linalg.norm(e1) + np.linalg.norm(e2)))


# ---- validation ----------------------------------------------------------------------------


def test_collinear_parallelogram_is_rejected() -> None:
    with pytest.raises(dp.GeometryError, match="collinear"):
        Parallelogram(X2, [0, 0], [1, 1], [2, 2])


def test_collinear_triangle_is_rejected() -> None:
    with pytest.raises(dp.GeometryError, match="collinear"):
        Triangle(X2, [0, 0], [1, 1], [3, 3])


def test_coplanar_box_is_rejected() -> None:
    with pytest.raises(dp.GeometryError, match="coplanar"):
        Box(X3, [0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0])


@pytest.mark.parametrize("radius", [0.0, -1.0])
def test_non_positive_radius_is_rejected(radius: float) -> None:
    with pytest.raises(dp.GeometryError, match="radius must be positive"):
        Circle(X2, [0, 0], radius)
    with pytest.raises(dp.GeometryError, match="radius must be positive"):
        Sphere(X3, [0, 0, 0], radius)


@pytest.mark.parametrize("lower, upper", [(1.0, 1.0), (2.0, 1.0)])
def test_interval_needs_lower_below_upper(lower: float, upper: float) -> None:
    with pytest.raises(dp.GeometryError, match="must be smaller than upper"):
        Interval(R1("t"), lower, upper)


def test_self_intersecting_polygon_is_rejected() -> None:
    with pytest.raises(dp.GeometryError, match="self-intersecting"):
        Polygon(X2, [[0, 0], [1, 1], [1, 0], [0, 1]])


def test_polygon_with_a_spike_is_rejected() -> None:
    with pytest.raises(dp.GeometryError, match="self-intersecting"):
        Polygon(X2, [[0, 0], [2, 0], [1, 0], [1, 1]])


def test_polygon_needs_three_vertices() -> None:
    with pytest.raises(dp.GeometryError, match="at least 3 vertices"):
        Polygon(X2, [[0, 0], [1, 0]])


def test_corner_dimension_must_match_the_space() -> None:
    with pytest.raises(
        dp.GeometryError, match=r"origin has 3 coordinates but space R2\('x'\) has 2"
    ):
        Parallelogram(X2, [0, 0, 0], [1, 0], [0, 1])


def test_center_dimension_must_match_the_space() -> None:
    with pytest.raises(
        dp.GeometryError, match=r"center has 2 coordinates but space R3\('x'\) has 3"
    ):
        Sphere(X3, [0, 0], 1.0)


def test_domain_needs_a_space_of_its_dimension() -> None:
    with pytest.raises(dp.GeometryError, match="Circle lives in a 2-D space"):
        Circle(X3, [0, 0, 0], 1.0)


def test_points_with_the_wrong_width_are_rejected() -> None:
    with pytest.raises(dp.ShapeError, match=r"need shape \(N, 2\)"):
        Circle(X2, [0, 0], 1.0).contains(torch.zeros(4, 3))


def test_from_unit_checks_its_width() -> None:
    with pytest.raises(dp.ShapeError, match=r"\[0, 1\]\^2"):
        Circle(X2, [0, 0], 1.0).from_unit(torch.zeros(4, 3))


# ---- the seed notebook ----------------------------------------------------------------------


def test_seed_geometry_lines() -> None:
    X = dp.spaces.R2("x")  # the notebook's name
    R = dp.domains.Parallelogram(X, [0, 0], [1, 0], [0, 1])
    collocation_points = dp.samplers.RandomUniformSampler(R, n_points=100)
    figure = dp.utils.scatter(X, collocation_points)
    assert figure is not None
    assert collocation_points.sample_points().as_tensor.size() == torch.Size([100, 2])
