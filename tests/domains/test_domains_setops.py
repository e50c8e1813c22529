"""Set operations and products of domains: membership, measures, boundaries and normals."""

from __future__ import annotations

import math
import pickle

import pytest
import torch

import deepinn as dp
from deepinn.domains import (
    Circle,
    Difference,
    Intersection,
    Interval,
    Parallelogram,
    ProductBoundary,
    ProductDomain,
    Sphere,
    Union,
)
from deepinn.spaces import R1, R2, R3

X = R2("x")
T = R1("t")


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _square(lower: float = 0.0, upper: float = 1.0) -> Parallelogram:
    return Parallelogram.axis_aligned(X, [lower, lower], [upper, upper])


def _lens_area(radius: float, distance: float) -> float:
    r, d = radius, distance
    return 2 * r * r * math.acos(d / (2 * r)) - 0.5 * d * math.sqrt(4 * r * r - d * d)


def _check_boundary(
    domain: dp.domains.AbstractDomain, n: int = 400, eps: float = 1e-4
) -> torch.Tensor:
    """Sampled boundary points are on the boundary with unit outward normals; returns them."""
    boundary = domain.boundary
    points = boundary.sample_uniform(n, _gen(7))
    assert points.shape == (n, domain.dim)
    assert bool(boundary.contains(points).all())
    normals = boundary.normal(points)
    assert torch.allclose(normals.norm(dim=1), torch.ones(n, dtype=torch.float64))
    outside = domain.contains(points + eps * normals)
    inside = domain.contains(points - eps * normals)
    # points within eps of a corner may step out through the other side: allow a few
    assert float(outside.double().mean()) < 0.02
    assert float(inside.double().mean()) > 0.98
    return points


# ---- union ----------------------------------------------------------------------------------


def test_operators_build_set_operations() -> None:
    a, b = _square(), Circle(X, [1, 1], 0.5)
    assert isinstance(a | b, Union)
    assert isinstance(a & b, Intersection)
    assert isinstance(a - b, Difference)


def test_union_of_disks_has_the_analytic_area() -> None:
    union = Circle(X, [0, 0], 1.0) | Circle(X, [1, 0], 1.0)
    expected = 2 * math.pi - _lens_area(1.0, 1.0)
    assert union.volume == pytest.approx(expected, rel=0.01)


def test_union_samples_lie_in_either_and_are_uniform() -> None:
    a, b = _square(0, 1), _square(0.5, 2)
    union = a | b
    points = union.sample_uniform(20_000, _gen())
    assert points.shape == (20_000, 2)
    assert bool(union.contains(points).all())
    share_a = float(a.contains(points).double().mean())
    assert share_a == pytest.approx(1.0 / union.volume, abs=0.015)


def test_union_boundary_excludes_the_inner_parts() -> None:
    a, b = Circle(X, [0, 0], 1.0), Circle(X, [1, 0], 1.0)
    union = a | b
    points = _check_boundary(union)
    assert not bool(
        (
            a.contains(points - 1e-3 * union.boundary.normal(points))
            & b.contains(points + 1e-3 * union.boundary.normal(points))
        ).any()
    )
    # each arc keeps 2/3 of its circle (the arc outside the other disk spans 240 degrees)
    assert union.boundary.volume == pytest.approx(2 * (2 / 3) * 2 * math.pi, rel=0.01)


def test_union_sharing_an_edge_drops_the_shared_edge() -> None:
    union = Parallelogram.axis_aligned(X, [0, 0], [1, 1]) | Parallelogram.axis_aligned(
        X, [1, 0], [2, 1]
    )
    assert union.volume == pytest.approx(2.0, rel=1e-3)
    assert union.boundary.volume == pytest.approx(6.0, rel=0.01)
    points = _check_boundary(union)
    assert not bool(((points[:, 0] - 1.0).abs() < 1e-9).logical_and(points[:, 1] % 1 > 1e-6).any())


def test_union_of_disjoint_sets_has_exact_volume() -> None:
    union = _square(0, 1) | _square(2, 3)
    assert union.volume == 2.0
    assert union.boundary.volume == 8.0


def test_union_of_intervals() -> None:
    union = Interval(T, 0, 1) | Interval(T, 0.5, 2)
    assert union.volume == pytest.approx(2.0, rel=0.01)
    points = union.boundary.sample_uniform(100, _gen())
    assert set(points[:, 0].tolist()) == {0.0, 2.0}
    assert union.boundary.volume == 2.0
    normals = union.boundary.normal(points)
    assert torch.equal(normals, torch.where(points == 0.0, -1.0, 1.0).double())


# ---- intersection ---------------------------------------------------------------------------


def test_intersection_is_a_quarter_disk() -> None:
    quarter = _square(0, 1) & Circle(X, [0, 0], 1.0)
    assert quarter.volume == pytest.approx(math.pi / 4, rel=0.01)
    assert quarter.boundary.volume == pytest.approx(2 + math.pi / 2, rel=0.01)
    points = quarter.sample_uniform(2000, _gen())
    assert bool((points >= -1e-12).all() and (points.norm(dim=1) <= 1 + 1e-12).all())
    _check_boundary(quarter)


def test_empty_intersection_cannot_be_sampled() -> None:
    empty = _square(0, 1) & _square(2, 3)
    assert empty.volume == 0.0
    with pytest.raises(dp.GeometryError, match="empty"):
        empty.sample_uniform(10, _gen())


# ---- difference -----------------------------------------------------------------------------


def test_square_with_a_hole() -> None:
    plate = _square(0, 1) - Circle(X, [0.5, 0.5], 0.25)
    assert plate.volume == pytest.approx(1 - math.pi / 16, rel=0.01)
    assert plate.boundary.volume == pytest.approx(4 + 2 * math.pi * 0.25, rel=0.01)
    points = plate.sample_uniform(3000, _gen())
    assert bool(((points - 0.5).norm(dim=1) >= 0.25).all())
    boundary = _check_boundary(plate)
    on_hole = ((boundary - 0.5).norm(dim=1) - 0.25).abs() < 1e-9
    assert bool(on_hole.any())
    normals = plate.boundary.normal(boundary[on_hole])
    expected = -(boundary[on_hole] - 0.5) / 0.25  # into the hole: outward from the plate
    assert torch.allclose(normals, expected)


def test_difference_contains_the_hole_edge_but_not_its_inside() -> None:
    plate = _square(0, 1) - Circle(X, [0.5, 0.5], 0.25)
    assert torch.equal(
        plate.contains([[0.75, 0.5], [0.5, 0.5], [0.1, 0.1]]), torch.tensor([True, False, True])
    )


def test_difference_with_a_shared_edge() -> None:
    left = Parallelogram.axis_aligned(X, [0, 0], [2, 2]) - Parallelogram.axis_aligned(
        X, [1, 0], [3, 2]
    )
    assert left.volume == pytest.approx(2.0, rel=0.01)
    assert left.boundary.volume == pytest.approx(6.0, rel=0.01)
    _check_boundary(left)


def test_nested_set_operations() -> None:
    shape = (_square(0, 2) | Circle(X, [2, 1], 1.0)) - Circle(X, [1, 1], 0.5)
    expected = 4 + math.pi / 2 - math.pi / 4
    assert shape.volume == pytest.approx(expected, rel=0.01)
    points = shape.sample_uniform(1000, _gen())
    assert bool(shape.contains(points).all())
    _check_boundary(shape)


def test_set_operations_need_one_space() -> None:
    with pytest.raises(dp.ConfigurationError, match="same space"):
        _square() | Circle(R2("y"), [0, 0], 1.0)


def test_set_operations_reject_boundaries() -> None:
    with pytest.raises(dp.ConfigurationError, match="boundaries is not supported"):
        _square().boundary | Circle(X, [0, 0], 1.0)


def test_set_operations_pickle() -> None:
    plate = _square(0, 1) - Circle(X, [0.5, 0.5], 0.25)
    _ = plate.boundary.volume
    clone = pickle.loads(pickle.dumps(plate))
    assert clone.volume == plate.volume


# ---- products -------------------------------------------------------------------------------


def test_cylinder_in_space_time() -> None:
    cylinder = Circle(X, [0, 0], 1.0) * Interval(T, 0, 2)
    assert isinstance(cylinder, ProductDomain)
    assert cylinder.space == X * T
    assert cylinder.volume == pytest.approx(2 * math.pi)
    assert cylinder.boundary.volume == pytest.approx(2 * math.pi * 2 + 2 * math.pi)
    points = cylinder.sample_uniform(1000, _gen())
    assert bool(cylinder.contains(points).all())
    lower, upper = cylinder.bounding_box()
    assert torch.equal(lower, torch.tensor([-1.0, -1.0, 0.0], dtype=torch.float64))
    assert torch.equal(upper, torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64))
    _check_boundary(cylinder)


def test_product_normals_pad_the_factor_normal() -> None:
    cylinder = Circle(X, [0, 0], 1.0) * Interval(T, 0, 2)
    points = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.5, 2.0], [0.0, 0.5, 0.0]], dtype=torch.float64)
    expected = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]], dtype=torch.float64
    )
    assert torch.equal(cylinder.boundary.normal(points), expected)


def test_product_with_time_first() -> None:
    slab = Interval(T, 0, 1) * _square()
    assert slab.space.names == ("t", "x")
    points = slab.boundary.sample_uniform(200, _gen())
    assert bool(slab.boundary.contains(points).all())
    _check_boundary(slab)


def test_lateral_surface_is_a_boundary() -> None:
    lateral = Circle(X, [0, 0], 1.0).boundary * Interval(T, 0, 1)
    assert isinstance(lateral, ProductBoundary)
    assert lateral.intrinsic_dim == 2
    assert lateral.volume == pytest.approx(2 * math.pi)
    points = lateral.sample_uniform(100, _gen())
    normals = lateral.normal(points)
    assert torch.allclose(normals[:, :2], points[:, :2])
    assert torch.equal(normals[:, 2], torch.zeros(100, dtype=torch.float64))


def test_product_from_unit_covers_the_product() -> None:
    cylinder = Circle(X, [0, 0], 1.0) * Interval(T, 0, 2)
    u = torch.rand(500, 3, generator=_gen(), dtype=torch.float64)
    assert bool(cylinder.contains(cylinder.from_unit(u)).all())
    ub = torch.rand(500, 2, generator=_gen(), dtype=torch.float64)
    points = cylinder.boundary.from_unit(ub)
    assert bool(cylinder.boundary.contains(points).all())


def test_product_with_a_finite_factor_has_a_unit_map() -> None:
    ends = Interval(T, 0, 1).boundary * Circle(X, [0, 0], 1.0)
    u = torch.rand(1000, 2, generator=_gen(), dtype=torch.float64)
    points = ends.from_unit(u)
    assert set(points[:, 0].tolist()) == {0.0, 1.0}
    assert bool(ends.contains(points).all())


def test_product_of_overlapping_spaces_is_rejected() -> None:
    with pytest.raises(dp.GeometryError, match=r"share the variable\(s\) \['x'\]"):
        Circle(X, [0, 0], 1.0) * Interval(R1("x"), 0, 1)


def test_product_of_a_ball_and_time() -> None:
    domain = Sphere(R3("x"), [0, 0, 0], 1.0) * Interval(T, 0, 1)
    assert domain.dim == 4
    assert domain.volume == pytest.approx(4 / 3 * math.pi)
    _check_boundary(domain, n=200)
