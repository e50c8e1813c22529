"""FourierFeatureNet: fixed random features, normalisation, validation."""

from __future__ import annotations

import math

import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.nn import FourierFeatureNet


def _net(**kwargs: object) -> FourierFeatureNet:
    generator = torch.Generator().manual_seed(3)
    return FourierFeatureNet([2, 8, 1], n_features=4, generator=generator, **kwargs)


def test_features_are_buffers_not_parameters() -> None:
    net = _net()
    names = {name for name, _ in net.named_parameters()}
    assert not any(name.startswith("feature") for name in names)
    assert {"feature_weight", "feature_bias"} <= set(net.state_dict())


def test_same_generator_seed_gives_the_same_features() -> None:
    torch.testing.assert_close(_net().feature_weight, _net().feature_weight)


def test_forward_is_the_mlp_of_cos_and_sin_features() -> None:
    net = _net(sigma=2.0)
    x = torch.rand(5, 2)
    z = x @ net.feature_weight.t()
    torch.testing.assert_close(net(x), net.body(torch.cat([z.cos(), z.sin()], dim=1)))


def test_bounds_fold_the_normalisation_into_the_features() -> None:
    plain = _net(dtype=torch.float64)
    bounded = _net(bounds=([0.0, 10.0], [4.0, 12.0]), dtype=torch.float64)
    bounded.body.load_state_dict(plain.body.state_dict())
    x = torch.rand(6, 2, dtype=torch.float64)
    lower = torch.tensor([0.0, 10.0], dtype=torch.float64)
    width = torch.tensor([4.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(bounded(lower + width * (x + 1) / 2), plain(x))


def test_sigma_scales_the_frequencies() -> None:
    ratio = _net(sigma=3.0).feature_weight / _net(sigma=1.0).feature_weight
    torch.testing.assert_close(ratio, torch.full_like(ratio, 3.0))
    assert math.isclose(_net().sigma, 1.0)


def test_one_point_gives_one_output_row() -> None:
    assert _net()(torch.rand(2)).shape == (1,)


def test_wrong_input_dimension_is_a_shape_error() -> None:
    with pytest.raises(ShapeError, match=r"got \(4, 3\)"):
        _net()(torch.rand(4, 3))


@pytest.mark.parametrize("n_features", [0, -2, 1.5, True])
def test_bad_feature_count_is_rejected(n_features: object) -> None:
    with pytest.raises(ConfigurationError, match="n_features"):
        FourierFeatureNet([2, 8, 1], n_features=n_features)  # type: ignore[arg-type]


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_sigma_is_rejected(sigma: float) -> None:
    with pytest.raises(ConfigurationError, match="sigma"):
        FourierFeatureNet([2, 8, 1], sigma=sigma)
