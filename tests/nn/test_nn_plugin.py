"""The networks' built-in plugin: registrations, schemas, factories and validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from deepinn import ConfigurationError
from deepinn.nn import FourierFeatureNet, FullyConnected, _plugin
from deepinn.plugins import Registry, load_registry

BOUNDS = (torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0]))


@pytest.fixture
def networks() -> Registry:
    """A registry holding only this plugin (no entry points, no other built-ins)."""
    return load_registry(strict=True, builtins=False, plugins=[_plugin], entry_points=[])


def _build(registry: Registry, name: str, params: object = None, bounds: object = BOUNDS):
    return registry.build("networks", name, params, in_dim=2, out_dim=3, bounds=bounds)


def test_the_built_in_networks_are_registered(networks: Registry) -> None:
    assert {"fourier", "mlp", "allen_cahn_net"} <= set(networks.names("networks"))


def test_schemas_are_dataclasses_with_defaults(networks: Registry) -> None:
    for registration in networks.registrations("networks"):
        assert dataclasses.is_dataclass(registration.schema)
        registration.schema()


def test_default_mlp_is_a_normalised_tanh_network(networks: Registry) -> None:
    net = _build(networks, "mlp")
    assert isinstance(net, FullyConnected)
    assert net.layer_size == (2, 50, 50, 50, 3)
    assert net.activation == "tanh" and net.initialiser == "xavier_normal"
    assert net.input_scale is not None
    assert net(torch.rand(4, 2)).shape == (4, 3)


def test_mlp_parameters_come_from_the_config(networks: Registry) -> None:
    params = {"hidden": [8, 6], "activation": "SiLU", "initialiser": "He uniform"}
    net = _build(networks, "mlp", params)
    assert net.layer_size == (2, 8, 6, 3)
    assert (net.activation, net.initialiser) == ("silu", "kaiming_uniform")


def test_normalise_false_ignores_the_bounds(networks: Registry) -> None:
    assert _build(networks, "mlp", {"normalise": False}).input_scale is None


def test_missing_bounds_mean_no_normalisation(networks: Registry) -> None:
    assert _build(networks, "mlp", bounds=None).input_scale is None


def test_fourier_builds_with_its_feature_count(networks: Registry) -> None:
    net = _build(networks, "fourier", {"n_features": 5, "sigma": 2.0, "hidden": [7]})
    assert isinstance(net, FourierFeatureNet)
    assert net.feature_weight.shape == (5, 2)
    assert net.body.layer_size == (10, 7, 3)
    assert net(torch.rand(4, 2)).shape == (4, 3)


@pytest.mark.parametrize("name", ["mlp", "fourier"])
def test_empty_hidden_list_is_rejected(networks: Registry, name: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"net={name}: hidden=\[\].*net.hidden="):
        _build(networks, name, {"hidden": []})


@pytest.mark.parametrize("name", ["mlp", "fourier"])
def test_non_positive_width_is_rejected(networks: Registry, name: str) -> None:
    with pytest.raises(ConfigurationError, match=r"hidden=\[50, 0\] has the width 0"):
        _build(networks, name, {"hidden": [50, 0]})


def test_unknown_activation_is_rejected_with_choices(networks: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"net=mlp: Unknown activation 'relu6'.*tanh"):
        _build(networks, "mlp", {"activation": "relu6"})


def test_unknown_initialiser_is_rejected_with_choices(networks: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"net=mlp: Unknown initialiser 'orthogonal'"):
        _build(networks, "mlp", {"initialiser": "orthogonal"})


@pytest.mark.parametrize("params", [{"n_features": 0}, {"sigma": 0.0}, {"sigma": -1.0}])
def test_bad_fourier_parameters_are_rejected(networks: Registry, params: dict) -> None:
    with pytest.raises(ConfigurationError, match=r"net=fourier: (n_features|sigma)"):
        _build(networks, "fourier", params)


def test_wrongly_typed_width_is_rejected_by_the_schema(networks: Registry) -> None:
    with pytest.raises(ConfigurationError, match="hidden"):
        _build(networks, "mlp", {"hidden": ["wide"]})


def test_factories_are_reachable_from_the_full_registry(registry: Registry) -> None:
    assert {"mlp", "fourier"} <= set(registry.names("networks"))
