"""The built-in sampler registrations build samplers from a domain, a count and a seed."""

from __future__ import annotations

import pytest
import torch

import deepinn as dp

NAMES = ["random", "grid", "latin_hypercube", "sobol", "halton", "adaptive"]


def test_every_builtin_sampler_is_registered(registry: dp.plugins.Registry) -> None:
    assert set(NAMES) <= set(registry.names("samplers"))


@pytest.mark.parametrize("name", NAMES)
def test_sampler_builds_from_the_registry(registry: dp.plugins.Registry, name: str) -> None:
    domain = registry.build("domains", "circle")
    sampler = registry.build("samplers", name, None, domain=domain, n_points=64, seed=0)
    assert isinstance(sampler, dp.samplers.AbstractSampler)
    points = sampler.sample_points().as_tensor
    assert points.shape == (64, 2)
    assert bool(domain.contains(points).all())
    again = registry.build("samplers", name, None, domain=domain, n_points=64, seed=0)
    assert torch.equal(again.sample_points().as_tensor, points)


@pytest.mark.parametrize("name", NAMES)
def test_sampler_builds_on_a_boundary(registry: dp.plugins.Registry, name: str) -> None:
    boundary = registry.build("domains", "polygon").boundary
    sampler = registry.build("samplers", name, None, domain=boundary, n_points=30, seed=1)
    assert bool(boundary.contains(sampler.sample_points().as_tensor).all())


def test_sobol_scramble_can_be_switched_off(registry: dp.plugins.Registry) -> None:
    domain = registry.build("domains", "parallelogram")
    sampler = registry.build(
        "samplers", "sobol", {"scramble": False}, domain=domain, n_points=4, seed=0
    )
    assert torch.equal(sampler.sample_points().as_tensor, sampler.sample_points().as_tensor)


def test_adaptive_pool_factor_from_config(registry: dp.plugins.Registry) -> None:
    domain = registry.build("domains", "parallelogram")
    sampler = registry.build(
        "samplers", "adaptive", {"pool_factor": 8}, domain=domain, n_points=4, seed=0
    )
    assert sampler.pool_factor == 8


def test_sampler_factory_rejects_a_bad_count(registry: dp.plugins.Registry) -> None:
    domain = registry.build("domains", "interval")
    with pytest.raises(dp.ConfigurationError, match="n_points must be a positive integer"):
        registry.build("samplers", "random", None, domain=domain, n_points=0, seed=0)
