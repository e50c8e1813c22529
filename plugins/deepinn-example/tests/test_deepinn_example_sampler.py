"""jittered_grid against the sampler contract: exact counts, inside, reproducible, stratified."""

from __future__ import annotations

import math

import pytest
import torch
from deepinn.domains import AbstractDomain, Circle, Parallelogram
from deepinn.samplers import AbstractSampler
from deepinn.spaces import R2

from deepinn_example import Annulus, JitteredGridSampler
from deepinn_example.sampler import JitteredGridParams, build_jittered_grid, cells_per_axis

SQUARE = Parallelogram(R2("x"), [0, 0], [1, 0], [0, 1])


class _NoUnitMap(AbstractDomain):
    """A disk that hides ``from_unit``: the sampler must fall back to its bounding box."""

    def __init__(self) -> None:
        self._disk = Circle(R2("x"), [0.0, 0.0], 1.0)
        self.space = self._disk.space

    def contains(self, points):
        return self._disk.contains(points)

    @property
    def volume(self) -> float:
        return self._disk.volume

    def bounding_box(self):
        return self._disk.bounding_box()

    @property
    def boundary(self):
        return self._disk.boundary

    def sample_uniform(self, n, generator=None):
        return self._disk.sample_uniform(n, generator)


def test_is_a_deepinn_sampler() -> None:
    sampler = build_jittered_grid(JitteredGridParams(), SQUARE, 10, seed=0)
    assert isinstance(sampler, AbstractSampler) and sampler.seed == 0


@pytest.mark.parametrize("n", [1, 7, 100, 333])
@pytest.mark.parametrize(
    "domain",
    [SQUARE, Annulus(R2("x")), Annulus(R2("x")).boundary, _NoUnitMap()],
    ids=["square", "annulus", "annulus-boundary", "no-unit-map"],
)
def test_exactly_n_points_inside(domain: AbstractDomain, n: int) -> None:
    points = JitteredGridSampler(domain, n, seed=0).sample_points().as_tensor
    assert points.shape == (n, 2)
    assert bool(domain.contains(points).all())


def test_one_point_per_cell_of_the_unit_square() -> None:
    points = JitteredGridSampler(SQUARE, 100, seed=3).sample_points().as_tensor.double()
    cells = (points * 10).floor().clamp(0, 9)
    index = cells[:, 0] * 10 + cells[:, 1]
    assert sorted(index.long().tolist()) == list(range(100))


def test_every_annulus_cell_is_hit() -> None:
    ring = Annulus(R2("x"))
    points = JitteredGridSampler(ring, 64, seed=1).sample_points().as_tensor.double()
    r2 = points.square().sum(dim=1)
    u0 = (r2 - 0.25) / 0.75  # the inverse of the area-preserving radius map
    u1 = torch.atan2(points[:, 1], points[:, 0]).remainder(2 * math.pi) / (2 * math.pi)
    cells = torch.stack([u0, u1], dim=1).mul(8).floor().clamp(0, 7)
    assert len({tuple(c) for c in cells.long().tolist()}) == 64


def test_reproducible_by_seed_and_fresh_on_each_call() -> None:
    first = JitteredGridSampler(SQUARE, 50, seed=5)
    second = JitteredGridSampler(SQUARE, 50, seed=5)
    a, b = first.sample_points().as_tensor, second.sample_points().as_tensor
    assert torch.equal(a, b)
    assert not torch.equal(a, first.sample_points().as_tensor)


def test_top_up_beyond_the_grid() -> None:
    assert [cells_per_axis(n, 2) for n in (1, 3, 4, 99, 100)] == [1, 1, 2, 9, 10]
    assert cells_per_axis(27, 3) == 3 and cells_per_axis(26, 3) == 2


def test_filter_is_respected() -> None:
    sampler = JitteredGridSampler(SQUARE, 40, filter_fn=lambda x: x[:, 0] < 0.5, seed=0)
    assert bool((sampler.sample_points().as_tensor[:, 0] < 0.5).all())
