"""Samplers: counts, membership, reproducibility, filters, grids, quasi-random structure."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import deepinn as dp
from deepinn.domains import Box, Circle, Interval, Parallelogram, Polygon, Sphere
from deepinn.samplers import (
    AdaptiveSampler,
    GridSampler,
    HaltonSampler,
    LatinHypercubeSampler,
    RandomUniformSampler,
    SobolSampler,
)
from deepinn.spaces import R1, R2, R3

X = R2("x")
SQUARE = Parallelogram(X, [0, 0], [1, 0], [0, 1])
SAMPLERS = [
    RandomUniformSampler,
    GridSampler,
    LatinHypercubeSampler,
    SobolSampler,
    HaltonSampler,
    AdaptiveSampler,
]
SAMPLER_IDS = [cls.__name__ for cls in SAMPLERS]


def _domains() -> dict[str, dp.domains.AbstractDomain]:
    circle = Circle(X, [0.5, 0.5], 0.5)
    time = Interval(R1("t"), 0, 1)
    return {
        "interval": Interval(R1("t"), -1, 1),
        "square": SQUARE,
        "circle": circle,
        "circle_boundary": circle.boundary,
        "polygon": Polygon(X, [[0, 0], [1, 0], [1, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]]),
        "box_boundary": Box.axis_aligned(R3("x"), [0, 0, 0], [1, 2, 1]).boundary,
        "sphere": Sphere(R3("x"), [0, 0, 0], 1),
        "plate": SQUARE - Circle(X, [0.5, 0.5], 0.25),
        "plate_boundary": (SQUARE - Circle(X, [0.5, 0.5], 0.25)).boundary,
        "cylinder": circle * time,
        "cylinder_boundary": (circle * time).boundary,
        "interval_ends": time.boundary,
    }


DOMAINS = _domains()


@pytest.mark.parametrize("cls", SAMPLERS, ids=SAMPLER_IDS)
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_sampler_returns_exactly_n_points_in_the_domain(cls: type, name: str) -> None:
    domain = DOMAINS[name]
    sampler = cls(domain, n_points=37, seed=0)
    points = sampler.sample_points()
    assert isinstance(points, dp.spaces.Points)
    assert points.space == domain.space
    assert points.as_tensor.shape == (37, domain.dim)
    assert points.as_tensor.dtype == torch.get_default_dtype()
    assert bool(domain.contains(points.as_tensor).all())


@pytest.mark.parametrize("cls", SAMPLERS, ids=SAMPLER_IDS)
def test_sampler_follows_the_default_dtype(cls: type) -> None:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert cls(SQUARE, 10, seed=0).sample_points().as_tensor.dtype == torch.float64
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("cls", SAMPLERS, ids=SAMPLER_IDS)
def test_same_seed_gives_the_same_points(cls: type) -> None:
    first = cls(SQUARE, 50, seed=3).sample_points().as_tensor
    second = cls(SQUARE, 50, seed=3).sample_points().as_tensor
    assert torch.equal(first, second)


@pytest.mark.parametrize(
    "cls", [RandomUniformSampler, LatinHypercubeSampler, SobolSampler, HaltonSampler]
)
def test_each_call_draws_fresh_points(cls: type) -> None:
    sampler = cls(SQUARE, 50, seed=3)
    assert not torch.equal(sampler.sample_points().as_tensor, sampler.sample_points().as_tensor)


def test_a_passed_generator_overrides_the_sampler_generator() -> None:
    first = RandomUniformSampler(SQUARE, 20, seed=1)
    second = RandomUniformSampler(SQUARE, 20, seed=2)
    a = first.sample_points(torch.Generator().manual_seed(9)).as_tensor
    b = second.sample_points(torch.Generator().manual_seed(9)).as_tensor
    assert torch.equal(a, b)


def test_global_seed_makes_unseeded_samplers_reproducible() -> None:
    torch.manual_seed(11)
    a = RandomUniformSampler(SQUARE, 20).sample_points().as_tensor
    torch.manual_seed(11)
    b = RandomUniformSampler(SQUARE, 20).sample_points().as_tensor
    assert torch.equal(a, b)


@pytest.mark.parametrize("cls", SAMPLERS, ids=SAMPLER_IDS)
def test_state_dict_restores_the_stream(cls: type) -> None:
    sampler = cls(Circle(X, [0, 0], 1.0), 30, seed=5)
    sampler.sample_points()
    state = sampler.state_dict()
    expected = sampler.sample_points().as_tensor
    sampler.load_state_dict(state)
    assert torch.equal(sampler.sample_points().as_tensor, expected)


def test_load_state_dict_needs_the_generator() -> None:
    with pytest.raises(dp.ConfigurationError, match="'generator'"):
        RandomUniformSampler(SQUARE, 3, seed=0).load_state_dict({"seed": 1})


@pytest.mark.parametrize("cls", SAMPLERS, ids=SAMPLER_IDS)
def test_samplers_pickle_with_their_state(cls: type) -> None:
    sampler = cls(SQUARE, 16, seed=2)
    clone = pickle.loads(pickle.dumps(sampler))
    assert torch.equal(clone.sample_points().as_tensor, sampler.sample_points().as_tensor)


# ---- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", SAMPLERS, ids=SAMPLER_IDS)
def test_filter_keeps_only_passing_points(cls: type) -> None:
    sampler = cls(SQUARE, 64, filter_fn=lambda x: x[:, 0] > 0.7, seed=0)
    points = sampler.sample_points().as_tensor
    assert points.shape == (64, 2)
    assert bool((points[:, 0] > 0.7).all())


def test_filter_rejecting_everything_is_an_error() -> None:
    sampler = RandomUniformSampler(SQUARE, 10, filter_fn=lambda x: x[:, 0] > 2.0, seed=0)
    with pytest.raises(dp.ConfigurationError, match="filter_fn kept 0 of"):
        sampler.sample_points()


def test_filter_must_return_a_mask_per_point() -> None:
    sampler = RandomUniformSampler(SQUARE, 10, filter_fn=lambda x: x > 0.5, seed=0)
    with pytest.raises(dp.ShapeError, match=r"bool mask of shape \(10,\)"):
        sampler.sample_points()


# ---- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("n_points", [0, -3, 2.5, True])
def test_n_points_must_be_positive(n_points: object) -> None:
    with pytest.raises(dp.ConfigurationError, match="n_points must be a positive integer"):
        RandomUniformSampler(SQUARE, n_points)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", SAMPLERS, ids=SAMPLER_IDS)
def test_sampler_needs_a_domain(cls: type) -> None:
    with pytest.raises(dp.ConfigurationError, match="is not a deepinn domain"):
        cls([[0, 0], [1, 1]], 10)


def test_adaptive_pool_factor_must_be_positive() -> None:
    with pytest.raises(dp.ConfigurationError, match="pool_factor must be an integer >= 1"):
        AdaptiveSampler(SQUARE, 10, pool_factor=0)


# ---- grids ----------------------------------------------------------------------------------


def test_grid_on_the_unit_square_is_ten_by_ten() -> None:
    points = GridSampler(SQUARE, 100, seed=0).sample_points().as_tensor.double()
    axis = (torch.arange(10, dtype=torch.float64) + 0.5) / 10
    expected = torch.cartesian_prod(axis, axis)
    assert torch.allclose(points, expected)


def test_grid_is_the_same_on_every_call() -> None:
    sampler = GridSampler(Circle(X, [0, 0], 1.0), 200, seed=0)
    grid_size = sampler.grid().shape[0]
    assert 150 < grid_size <= 200
    first, second = sampler.sample_points().as_tensor, sampler.sample_points().as_tensor
    assert torch.equal(first[:grid_size], second[:grid_size])


def test_grid_on_an_interval_is_equispaced() -> None:
    points = GridSampler(Interval(R1("t"), 0, 1), 8, seed=0).sample_points().as_tensor
    assert torch.allclose(points[:, 0], (torch.arange(8) + 0.5) / 8)


def test_grid_on_a_circle_is_equispaced_in_angle() -> None:
    points = GridSampler(Circle(X, [0, 0], 1.0).boundary, 12, seed=0).sample_points().as_tensor
    angles = torch.atan2(points[:, 1].double(), points[:, 0].double()).remainder(2 * math.pi)
    gaps = torch.diff(torch.sort(angles).values)
    assert torch.allclose(gaps, torch.full_like(gaps, 2 * math.pi / 12), atol=1e-6)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 400))
def test_grid_returns_the_number_asked(n: int) -> None:
    for domain in (SQUARE, DOMAINS["polygon"], DOMAINS["circle_boundary"], DOMAINS["plate"]):
        assert GridSampler(domain, n, seed=0).sample_points().as_tensor.shape == (n, domain.dim)


# ---- quasi-random structure -----------------------------------------------------------------


def test_sobol_points_are_stratified_in_each_coordinate() -> None:
    points = SobolSampler(SQUARE, 256, seed=0).sample_points().as_tensor.double()
    for column in points.T:
        assert torch.equal(
            torch.sort((column * 256).floor()).values, torch.arange(256.0, dtype=torch.float64)
        )


def test_latin_hypercube_points_are_stratified_in_each_coordinate() -> None:
    points = LatinHypercubeSampler(SQUARE, 100, seed=0).sample_points().as_tensor.double()
    for column in points.T:
        assert torch.equal(
            torch.sort((column * 100).floor()).values, torch.arange(100.0, dtype=torch.float64)
        )


@pytest.mark.parametrize("cls", [LatinHypercubeSampler, SobolSampler, HaltonSampler])
def test_quasi_random_points_on_a_set_without_unit_map(cls: type) -> None:
    plate = DOMAINS["plate"]
    points = cls(plate, 500, seed=0).sample_points().as_tensor
    assert points.shape == (500, 2)
    assert bool(plate.contains(points).all())


def test_halton_points_have_low_discrepancy() -> None:
    from scipy.stats import qmc

    halton = HaltonSampler(SQUARE, 512, seed=0).sample_points().as_tensor.double().numpy()
    random = RandomUniformSampler(SQUARE, 512, seed=0).sample_points().as_tensor.double().numpy()
    assert qmc.discrepancy(halton) < qmc.discrepancy(random)


def test_scipy_is_imported_by_the_first_quasi_random_engine_not_by_deepinn() -> None:
    code = (
        "import sys, deepinn as dp; "
        "square = dp.domains.Parallelogram(dp.spaces.R2('x'), [0, 0], [1, 0], [0, 1]); "
        "dp.samplers.RandomUniformSampler(square, 8, seed=0).sample_points(); "
        "assert 'scipy.stats' not in sys.modules, 'scipy.stats imported'; "
        "dp.samplers.SobolSampler(square, 8, seed=0).sample_points(); "
        "assert 'scipy.stats' in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("cls", SAMPLERS)
@pytest.mark.parametrize("n", [2, 5])
def test_every_end_of_an_interval_gets_its_share_of_the_points(cls: type, n: int) -> None:
    ends = Interval(R1("x"), -1.0, 1.0).boundary
    for seed in range(20):
        x = cls(ends, n, seed=seed).sample_points().as_tensor.flatten()
        left = int((x == -1.0).sum())
        assert left + int((x == 1.0).sum()) == n and left in (n // 2, n - n // 2), (seed, x)


# ---- adaptive -------------------------------------------------------------------------------


def test_adaptive_keeps_the_largest_residuals() -> None:
    sampler = AdaptiveSampler(SQUARE, 100, residual_fn=lambda x: x[:, 0], pool_factor=10, seed=0)
    points = sampler.sample_points().as_tensor
    assert points.shape == (100, 2)
    assert float(points[:, 0].min()) > 0.8


def test_adaptive_residuals_may_take_derivatives() -> None:
    def residual(x: torch.Tensor) -> torch.Tensor:
        u = (x**2).sum(dim=1)
        (grad,) = torch.autograd.grad(u.sum(), x)
        return grad.norm(dim=1)

    points = AdaptiveSampler(
        Circle(X, [0, 0], 1.0), 50, residual_fn=residual, seed=0
    ).sample_points()
    assert float(points.as_tensor.norm(dim=1).min()) > 0.5


def test_adaptive_without_residual_returns_base_points() -> None:
    points = AdaptiveSampler(SQUARE, 20, seed=0).sample_points().as_tensor
    assert points.shape == (20, 2)


# ---- the seed notebook ----------------------------------------------------------------------


def test_seed_sampler_line() -> None:
    R = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    tensor = dp.samplers.RandomUniformSampler(R, n_points=100).sample_points().as_tensor
    assert tensor.size() == torch.Size([100, 2])


def test_a_grid_on_an_empty_set_operation_is_refused_naming_the_domain() -> None:
    empty = SQUARE - Circle(X, [0.5, 0.5], 5.0)
    with pytest.raises(dp.GeometryError, match=r"Cannot lay a grid on .*volume is 0"):
        GridSampler(empty, 16, seed=0).sample_points()
