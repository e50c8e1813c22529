"""The annulus against its contract: inside, exact counts, measures, outward normals, errors."""

from __future__ import annotations

import math

import pytest
import torch
from deepinn import GeometryError
from deepinn.domains import AbstractBoundary, AbstractDomain
from deepinn.spaces import R2, Points

from deepinn_example import Annulus
from deepinn_example.domain import AnnulusParams, build_annulus

CENTER = (0.3, -0.2)


@pytest.fixture
def ring() -> Annulus:
    return Annulus(R2("x"), CENTER, 0.4, 1.1)


def _radius(points: torch.Tensor) -> torch.Tensor:
    return (points - torch.tensor(CENTER, dtype=torch.float64)).norm(dim=1)


def test_is_a_deepinn_domain(ring: Annulus) -> None:
    assert isinstance(ring, AbstractDomain) and isinstance(ring.boundary, AbstractBoundary)
    assert (ring.dim, ring.intrinsic_dim, ring.boundary.intrinsic_dim) == (2, 2, 1)


def test_samples_exactly_n_points_inside(ring: Annulus) -> None:
    points = ring.sample_uniform(5000, torch.Generator().manual_seed(0))
    assert points.shape == (5000, 2) and points.dtype == torch.float64
    assert bool(ring.contains(points).all())
    r = _radius(points)
    assert float(r.min()) >= 0.4 - 1e-12 and float(r.max()) <= 1.1 + 1e-12


def test_sampling_is_uniform_in_area(ring: Annulus) -> None:
    r = _radius(ring.sample_uniform(20000, torch.Generator().manual_seed(1)))
    middle = 0.75
    expected = (middle**2 - 0.4**2) / (1.1**2 - 0.4**2)
    assert float((r < middle).double().mean()) == pytest.approx(expected, abs=0.015)


def test_sampling_is_reproducible(ring: Annulus) -> None:
    first = ring.sample_uniform(10, torch.Generator().manual_seed(7))
    again = ring.sample_uniform(10, torch.Generator().manual_seed(7))
    assert torch.equal(first, again)


def test_measures_and_bounding_box(ring: Annulus) -> None:
    assert ring.volume == pytest.approx(math.pi * (1.1**2 - 0.4**2))
    assert ring.boundary.volume == pytest.approx(2 * math.pi * (1.1 + 0.4))
    lower, upper = ring.bounding_box()
    assert lower.tolist() == pytest.approx([0.3 - 1.1, -0.2 - 1.1])
    assert upper.tolist() == pytest.approx([0.3 + 1.1, -0.2 + 1.1])


def test_area_by_monte_carlo(ring: Annulus) -> None:
    lower, upper = ring.bounding_box()
    box = lower + torch.rand(
        40000, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64
    ) * (upper - lower)
    estimate = float(ring.contains(box).double().mean() * (upper - lower).prod())
    assert estimate == pytest.approx(ring.volume, rel=0.03)


def test_contains_the_closed_ring_only(ring: Annulus) -> None:
    c = torch.tensor(CENTER, dtype=torch.float64)
    points = c + torch.tensor(
        [[0.0, 0.0], [0.39, 0.0], [0.4, 0.0], [0.0, 0.8], [-1.1, 0.0], [1.2, 0.0]]
    )
    assert ring.contains(points).tolist() == [False, False, True, True, True, False]
    assert ring.contains(Points(points.float(), R2("x"))).tolist() == [
        False,
        False,
        True,
        True,
        True,
        False,
    ]


def test_boundary_points_lie_on_the_two_circles_in_proportion(ring: Annulus) -> None:
    points = ring.boundary.sample_uniform(6000, torch.Generator().manual_seed(3))
    r = _radius(points)
    on_outer = (r - 1.1).abs() < 1e-9
    on_inner = (r - 0.4).abs() < 1e-9
    assert bool((on_outer | on_inner).all()) and bool(ring.boundary.contains(points).all())
    assert float(on_outer.double().mean()) == pytest.approx(1.1 / 1.5, abs=0.02)
    assert not bool(
        ring.boundary.contains(ring.sample_uniform(100)[[0]] * 0 + torch.tensor(CENTER)).any()
    )


def test_normals_are_outward_unit_vectors(ring: Annulus) -> None:
    points = ring.boundary.sample_uniform(500, torch.Generator().manual_seed(4))
    normals = ring.boundary.normal(points)
    assert normals.shape == (500, 2)
    assert torch.allclose(normals.norm(dim=1), torch.ones(500, dtype=torch.float64))
    h = 1e-3
    assert not bool(ring.contains(points + h * normals).any())  # a step along n leaves the ring
    assert bool(ring.contains(points - h * normals).all())  # a step against n enters it
    r = _radius(points)
    radial = (points - torch.tensor(CENTER, dtype=torch.float64)) / r.unsqueeze(1)
    inner = r < 0.75
    assert torch.allclose(normals[inner], -radial[inner]) and torch.allclose(
        normals[~inner], radial[~inner]
    )


def test_from_unit_maps_corners_onto_both_circles(ring: Annulus) -> None:
    corners = ring.from_unit(torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64))
    assert _radius(corners).tolist() == pytest.approx([0.4, 1.1])
    ends = ring.boundary.from_unit(torch.tensor([[0.0], [0.999999]], dtype=torch.float64))
    assert _radius(ends).tolist() == pytest.approx([1.1, 0.4])


def test_factory_builds_from_params() -> None:
    ring = build_annulus(AnnulusParams(center=[1.0, 2.0], inner=0.1, outer=0.2, variable="y"))
    assert ring.space.names == ("y",) and ring.center.tolist() == [1.0, 2.0]
    assert (ring.inner, ring.outer) == (0.1, 0.2)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"inner": 1.0, "outer": 0.5}, "0 < inner < outer"),
        ({"inner": 0.0}, "0 < inner < outer"),
        ({"center": [0.0, 0.0, 0.0]}, "2 numbers"),
    ],
)
def test_bad_parameters_are_geometry_errors(params: dict, match: str) -> None:
    with pytest.raises(GeometryError, match=match):
        AnnulusParams(**params)


def test_not_in_two_dimensions() -> None:
    from deepinn.spaces import R3

    with pytest.raises(GeometryError, match="2-D space"):
        Annulus(R3("x"))
