"""Networks for hard problems: modified MLP, RWF, Fourier and periodic embeddings (float64)."""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch

from deepinn._errors import ConfigurationError
from deepinn.nn._embeddings import FourierEmbedding, PeriodicEmbedding
from deepinn.nn._modified import ModifiedMLP
from deepinn.nn._network import EmbeddedNetwork
from deepinn.nn._rwf import RWFLinear
from deepinn.operators import Field
from deepinn.plugins import load_registry
from deepinn.spaces import R1

TOL = {"rtol": 1e-10, "atol": 1e-10}
BOUNDS = ([0.0, -1.0, 0.5], [2.0, 3.0, 1.5])
COORDS = ("x", "y", "t")


@pytest.fixture(scope="module")
def registry():
    return load_registry(strict=True)


def _build(registry, params, name="mlp", in_dim=3, out_dim=2, bounds=BOUNDS, seed=0, **context):
    torch.manual_seed(seed)
    net = registry.networks.build(
        name, params, in_dim=in_dim, out_dim=out_dim, bounds=bounds, **context
    )
    return net.double()


def _points(n=7, d=3, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, dtype=torch.float64, generator=generator) * 2 - 0.5


def _autograd(net, x, second):
    """(u, du, d2u) by nested reverse mode, d2u zero where not marked; graph kept."""
    x = x.detach().requires_grad_(True)
    u = net(x)
    n, d = x.shape
    k = u.shape[1]
    du = torch.stack(
        [torch.autograd.grad(u[:, j].sum(), x, create_graph=True)[0] for j in range(k)], dim=1
    )
    columns = []
    for j, i in itertools.product(range(k), range(d)):
        if second[i]:
            (row,) = torch.autograd.grad(
                du[:, j, i].sum(), x, create_graph=True, materialize_grads=True
            )
            columns.append(row[:, i])
        else:
            columns.append(torch.zeros(n, dtype=x.dtype))
    return u, du, torch.stack(columns, dim=1).reshape(n, k, d)


CONFIGS = {
    "rwf": {"rwf": True},
    "modified": {"architecture": "modified"},
    "modified_rwf": {"architecture": "modified", "rwf": True, "rwf_std": 0.3},
    "fourier": {"fourier_features": 5, "fourier_scale": 0.7},
    "periodic": {"periodic": {"y": 1.5}, "periodic_modes": 2},
    "periodic_two": {"periodic": {"x": 2.0, "2": 0.8}},
    "periodic_fourier": {"periodic": {"y": 1.5}, "fourier_features": 4},
    "all": {"periodic": {"x": 2.0}, "fourier_features": 3, "architecture": "modified", "rwf": True},
}


def _net(registry, key, bounds=BOUNDS):
    params = {"hidden": [6, 6, 6], "activation": "tanh", **CONFIGS[key]}
    return _build(registry, params, bounds=bounds, coordinates=COORDS)


@pytest.mark.parametrize("bounds", [BOUNDS, None], ids=["bounds", "raw"])
@pytest.mark.parametrize("second", [(True, True, True), (True, False, True), (False, True, False)])
@pytest.mark.parametrize("key", CONFIGS)
def test_forward_derivatives_equal_autograd(registry, key, second, bounds) -> None:
    net, x = _net(registry, key, bounds), _points()
    u, du, d2u = net.forward_derivatives(x, second)
    u_ref, du_ref, d2u_ref = _autograd(net, x, second)
    torch.testing.assert_close(u, u_ref, **TOL)
    torch.testing.assert_close(du, du_ref, **TOL)
    torch.testing.assert_close(d2u, d2u_ref, **TOL)


@pytest.mark.parametrize("second", [(True, True, True), (True, True, False), (False, False, True)])
@pytest.mark.parametrize("key", CONFIGS)
def test_forward_laplacian_equals_autograd(registry, key, second) -> None:
    net, x = _net(registry, key), _points()
    u, du, lap = net.forward_laplacian(x, second)
    u_ref, du_ref, d2u_ref = _autograd(net, x, second)
    torch.testing.assert_close(u, u_ref, **TOL)
    torch.testing.assert_close(du, du_ref, **TOL)
    torch.testing.assert_close(lap, d2u_ref.sum(dim=2), **TOL)


@pytest.mark.parametrize("key", CONFIGS)
def test_parameter_gradients_of_a_second_order_loss_equal_autograd(registry, key) -> None:
    net, x = _net(registry, key), _points()
    params = list(net.parameters())
    second = (True, True, False)

    def loss(u, du, d2u):
        return ((d2u.sum(dim=2) - du[:, :, 2] + u**2) ** 2).mean()

    grads = torch.autograd.grad(loss(*net.forward_derivatives(x, second)), params)
    grads_ref = torch.autograd.grad(loss(*_autograd(net, x, second)), params)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, g_ref, **TOL)


def test_fourier_network_takes_the_same_options(registry) -> None:
    params = {
        "hidden": [5, 5],
        "n_features": 3,
        "architecture": "modified",
        "rwf": True,
        "periodic": {"0": 2.0},
    }
    net, x = _build(registry, params, name="fourier"), _points()
    assert isinstance(net.body, ModifiedMLP) and isinstance(net.embeddings[1], FourierEmbedding)
    u, du, d2u = net.forward_derivatives(x)
    for got, ref in zip((u, du, d2u), _autograd(net, x, (True,) * 3), strict=True):
        torch.testing.assert_close(got, ref, **TOL)


def test_field_takes_the_fast_path(registry) -> None:
    net = _build(
        registry,
        {"hidden": [6, 6], **CONFIGS["all"]},
        in_dim=2,
        out_dim=1,
        bounds=None,
        coordinates=("x", "t"),
    )
    field = Field(net, _points(d=2), R1("x") * R1("t"), ("u",), second_order=["x"])
    lap = field.laplacian("u", "x")
    assert field.used_forward_derivatives
    _, _, d2u_ref = _autograd(net, _points(d=2), (True, False))
    torch.testing.assert_close(lap.reshape(-1), d2u_ref[:, 0, 0], **TOL)


# ------------------------------------------------------------------------ periodicity
@pytest.mark.parametrize("architecture", ["plain", "modified"])
def test_periodic_outputs_and_derivatives_repeat_with_the_period(registry, architecture) -> None:
    period = 0.7
    params = {
        "hidden": [8, 8],
        "periodic": {"y": period},
        "periodic_modes": 3,
        "architecture": architecture,
    }
    net, x = _build(registry, params, coordinates=COORDS), _points()
    shifted = x + torch.tensor([0.0, period, 0.0], dtype=torch.float64)
    back = x - 3 * torch.tensor([0.0, period, 0.0], dtype=torch.float64)
    for y in (shifted, back):
        for got, ref in zip(net.forward_derivatives(y), net.forward_derivatives(x), strict=True):
            torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-9)
    # ... and is not periodic in a coordinate that has no period
    other = x + torch.tensor([period, 0.0, 0.0], dtype=torch.float64)
    assert not torch.allclose(net(other), net(x))


def test_periodic_embedding_is_exact_at_the_period_ends() -> None:
    embedding = PeriodicEmbedding(2, {0: 2.0}, modes=4, dtype=torch.float64)
    ends = torch.tensor([[-1.0, 0.3], [1.0, 0.3]], dtype=torch.float64)
    features = embedding(ends)
    torch.testing.assert_close(features[0], features[1], rtol=0, atol=1e-15)
    assert embedding.out_dim == 9


def test_periodic_embedding_built_in_float32_is_periodic_in_float64() -> None:
    net = PeriodicEmbedding(1, {0: 0.3}).double()
    x = torch.tensor([[0.123]], dtype=torch.float64)
    torch.testing.assert_close(net(x + 0.3), net(x), rtol=0, atol=1e-14)


def test_allen_cahn_net_is_the_periodic_option_preset(registry) -> None:
    box = ([-1.0, 0.0], [1.0, 1.0])
    common = {"hidden": [8, 8], "architecture": "modified"}
    preset = _build(
        registry,
        {**common, "frequencies": 2},
        name="allen_cahn_net",
        in_dim=2,
        out_dim=1,
        bounds=None,
    )
    option = _build(
        registry,
        {**common, "periodic": {"x": 2.0}, "periodic_modes": 2},
        in_dim=2,
        out_dim=1,
        bounds=box,
        coordinates=("x", "t"),
    )
    x = _points(d=2)
    torch.testing.assert_close(preset(x), option(x), rtol=0, atol=0)
    assert hasattr(preset, "forward_laplacian")


# ------------------------------------------------------------------------ RWF
def test_rwf_log_scales_follow_the_asked_normal(registry) -> None:
    net = _build(
        registry, {"hidden": [400, 400], "rwf": True, "rwf_mean": 0.5, "rwf_std": 0.2}, bounds=None
    )
    scales = torch.cat([layer.log_scale.detach() for layer in net.linears])
    assert all(isinstance(layer, RWFLinear) for layer in net.linears)
    assert scales.numel() == 802
    assert abs(scales.mean().item() - 0.5) < 0.03 and abs(scales.std().item() - 0.2) < 0.02


def test_rwf_keeps_the_initial_function_but_changes_the_parameters(registry) -> None:
    plain = _build(registry, {"hidden": [6, 6]})
    factorised = _build(registry, {"hidden": [6, 6], "rwf": True})
    x = _points()
    torch.testing.assert_close(factorised(x), plain(x), rtol=1e-6, atol=1e-7)  # built in float32
    names = {name for name, _ in factorised.named_parameters()}
    assert "linears.0.log_scale" in names and "linears.0.direction" in names
    assert "linears.0.weight" not in names
    grad = torch.autograd.grad(factorised(x).sum(), factorised.linears[1].log_scale)[0]
    assert grad.abs().sum() > 0


# ------------------------------------------------------------------------ options change the module
@pytest.mark.parametrize("key", ["modified", "fourier", "periodic"])
def test_each_option_changes_the_function(registry, key) -> None:
    plain = _build(registry, {"hidden": [6, 6, 6]}, coordinates=COORDS)
    other = _net(registry, key)
    assert not torch.allclose(plain(_points()), other(_points()))


def test_options_build_the_named_parts(registry) -> None:
    net = _net(registry, "all")
    assert isinstance(net, EmbeddedNetwork)
    assert [type(stage) for stage in net.embeddings] == [PeriodicEmbedding, FourierEmbedding]
    assert isinstance(net.body, ModifiedMLP)
    assert all(isinstance(layer, RWFLinear) for layer in [*net.body.encoders, *net.body.linears])
    assert net.embeddings[0].periods == {0: 2.0}
    assert net.embeddings[1].n_features == 3


def test_default_mlp_is_unchanged(registry) -> None:
    net = registry.networks.build("mlp", {"hidden": [8]}, in_dim=2, out_dim=1, bounds=None)
    assert type(net).__name__ == "FullyConnected"
    assert all(type(layer) is torch.nn.Linear for layer in net.linears)


def test_registry_build_with_every_option(registry) -> None:
    params = {
        "hidden": [8, 8],
        "architecture": "modified",
        "rwf": True,
        "fourier_features": 4,
        "periodic": {0: 2.0},
        "periodic_modes": 2,
    }
    net = load_registry(strict=True).networks.build("mlp", params, in_dim=2, out_dim=1, bounds=None)
    assert net(torch.rand(5, 2)).shape == (5, 1)
    assert net(torch.rand(2)).shape == (1,)


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"architecture": "modfied"}, r"net.architecture='modfied'.*Did you mean 'modified'"),
        ({"rwf": True, "rwf_std": -0.1}, r"net.rwf_std=-0.1.*cannot be negative"),
        ({"rwf_mean": math.inf}, r"net.rwf_mean=inf.*finite"),
        ({"fourier_features": -1}, r"net.fourier_features=-1.*>= 0"),
        ({"fourier_features": 8, "fourier_scale": 0.0}, r"net.fourier_scale=0.0.*positive"),
        ({"periodic": {"x": 0.0}}, r"net.periodic.x=0.0.*> 0"),
        ({"periodic": {"x": -2.0}}, r"net.periodic.x=-2.0"),
        ({"periodic_modes": 0}, r"net.periodic_modes=0.*>= 1"),
    ],
)
def test_bad_option_values_are_refused_naming_the_key(registry, params, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        registry.networks.build("mlp", params, in_dim=3, out_dim=1, bounds=None)


@pytest.mark.parametrize(
    ("periodic", "context", "match"),
    [
        ({"z": 1.0}, {"coordinates": COORDS}, r"'z' is not a coordinate.*\['x', 'y', 't'\]"),
        ({"tt": 1.0}, {"coordinates": COORDS}, r"Did you mean 't'"),
        ({"x": 1.0}, {}, r"'x' cannot be resolved.*column index"),
        ({5: 1.0}, {}, r"column 5 is out of range.*3 coordinates"),
        ({"0": 1.0, "x": 2.0}, {"coordinates": COORDS}, r"column 0 is given twice"),
    ],
)
def test_bad_periodic_coordinates_are_refused(registry, periodic, context, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        registry.networks.build(
            "mlp", {"periodic": periodic}, in_dim=3, out_dim=1, bounds=None, **context
        )


@pytest.mark.parametrize("hidden", [[8], [8, 6]])
def test_modified_needs_two_equal_hidden_widths(registry, hidden) -> None:
    with pytest.raises(
        ConfigurationError, match=re.escape(f"net=mlp: net.architecture=modified: hidden={hidden}")
    ):
        registry.networks.build(
            "mlp", {"hidden": hidden, "architecture": "modified"}, in_dim=2, out_dim=1, bounds=None
        )


def test_allen_cahn_net_validates_the_shared_options(registry) -> None:
    with pytest.raises(ConfigurationError, match=r"net\.architecture='gated'"):
        registry.networks.build(
            "allen_cahn_net", {"architecture": "gated"}, in_dim=2, out_dim=1, bounds=None
        )
