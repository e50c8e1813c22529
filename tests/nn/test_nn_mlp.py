"""FullyConnected: construction, validation, shapes, initialisers and input normalisation."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.nn import ACTIVATIONS, INITIALISERS, FullyConnected
from deepinn.spaces import R2, Points

BOUNDS = ([0.0, -1.0], [2.0, 3.0])


def test_layer_sizes_build_one_linear_per_pair() -> None:
    net = FullyConnected([2, 50, 40, 3])
    shapes = [tuple(layer.weight.shape) for layer in net.linears]
    assert shapes == [(50, 2), (40, 50), (3, 40)]
    assert (net.in_dim, net.out_dim) == (2, 3)


def test_forward_maps_n_points_to_n_outputs() -> None:
    net = FullyConnected([3, 16, 2])
    assert net(torch.rand(7, 3)).shape == (7, 2)


def test_forward_accepts_one_point() -> None:
    net = FullyConnected([2, 16, 3])
    x = torch.rand(2)
    out = net(x)
    assert out.shape == (3,)
    torch.testing.assert_close(out, net(x.unsqueeze(0))[0])


def test_forward_accepts_points() -> None:
    net = FullyConnected([2, 8, 1])
    points = Points(torch.rand(5, 2), R2("x"))
    torch.testing.assert_close(net(points), net(points.as_tensor))


def test_wrong_input_dimension_names_both_shapes() -> None:
    net = FullyConnected([2, 8, 1])
    with pytest.raises(ShapeError, match=r"\(N, 2\).*got \(5, 3\)"):
        net(torch.rand(5, 3))


def test_scalar_input_is_a_shape_error() -> None:
    with pytest.raises(ShapeError, match="in_dim=2"):
        FullyConnected([2, 8, 1])(torch.tensor(1.0))


@pytest.mark.parametrize("layer_size", [[2], [], [2, 0, 1], [2, -3, 1], [2, 2.5, 1], [2, True, 1]])
def test_bad_layer_size_is_rejected(layer_size: list) -> None:
    with pytest.raises(ConfigurationError, match=r"layer_size|width"):
        FullyConnected(layer_size)


def test_layer_size_must_be_a_list() -> None:
    with pytest.raises(ConfigurationError, match=r"\[2, 50, 50, 1\]"):
        FullyConnected("2,50,1")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["tanh", "Tanh", "SIN", "sine", "silu", "swish", "GELU", "relu"])
def test_activation_names_are_case_insensitive(name: str) -> None:
    net = FullyConnected([2, 4, 1], activation=name)
    assert net.activation in ACTIVATIONS


def test_unknown_activation_lists_valid_names_and_nearest() -> None:
    with pytest.raises(
        ConfigurationError, match=r"'tahn'.*tanh, sin, silu, gelu.*Did you mean 'tanh'"
    ):
        FullyConnected([2, 4, 1], activation="tahn")


def test_each_activation_is_applied_between_layers() -> None:
    torch.manual_seed(0)
    x = torch.randn(5, 2)
    reference = {
        "tanh": torch.tanh,
        "sin": torch.sin,
        "silu": torch.nn.functional.silu,
        "gelu": torch.nn.functional.gelu,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
    }
    for name, fn in reference.items():
        net = FullyConnected([2, 6, 1], activation=name)
        first, last = net.linears
        expected = last(fn(first(x)))
        torch.testing.assert_close(net(x), expected)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("xavier_normal", "xavier_normal"),
        ("Xavier normal", "xavier_normal"),
        ("Glorot normal", "xavier_normal"),
        ("glorot_uniform", "xavier_uniform"),
        ("He normal", "kaiming_normal"),
        ("he-uniform", "kaiming_uniform"),
        ("KaimingUniform", "kaiming_uniform"),
    ],
)
def test_initialiser_spellings(spelling: str, canonical: str) -> None:
    assert FullyConnected([2, 4, 1], initialiser=spelling).initialiser == canonical


def test_unknown_initialiser_lists_valid_names() -> None:
    with pytest.raises(ConfigurationError, match=r"xavier_normal, xavier_uniform.*Did you mean"):
        FullyConnected([2, 4, 1], initialiser="xavier_norml")


@pytest.mark.parametrize("initialiser", INITIALISERS)
def test_biases_start_at_zero(initialiser: str) -> None:
    net = FullyConnected([2, 30, 30, 1], initialiser=initialiser)
    for layer in net.linears:
        assert torch.count_nonzero(layer.bias) == 0


def test_xavier_normal_has_glorot_variance() -> None:
    torch.manual_seed(0)
    weight = FullyConnected([400, 600, 1]).linears[0].weight
    expected_std = (2.0 / (400 + 600)) ** 0.5
    assert abs(weight.std().item() / expected_std - 1.0) < 0.02


def test_kaiming_normal_has_he_variance() -> None:
    torch.manual_seed(0)
    weight = FullyConnected([400, 600, 1], initialiser="He normal").linears[0].weight
    expected_std = (2.0 / 400) ** 0.5
    assert abs(weight.std().item() / expected_std - 1.0) < 0.02


def test_bounds_map_the_box_onto_minus_one_one() -> None:
    net = FullyConnected([2, 8, 1], bounds=BOUNDS, dtype=torch.float64)
    lower = torch.tensor(BOUNDS[0], dtype=torch.float64)
    upper = torch.tensor(BOUNDS[1], dtype=torch.float64)
    scale, shift = net.input_scale, net.input_shift
    torch.testing.assert_close(scale * lower + shift, -torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(scale * upper + shift, torch.ones(2, dtype=torch.float64))


def test_bounds_normalise_the_input_of_the_first_layer() -> None:
    net = FullyConnected([2, 8, 1], bounds=BOUNDS, dtype=torch.float64)
    x = torch.rand(6, 2, dtype=torch.float64) * 2
    lower = torch.tensor(BOUNDS[0], dtype=torch.float64)
    upper = torch.tensor(BOUNDS[1], dtype=torch.float64)
    normalised = 2 * (x - lower) / (upper - lower) - 1
    first, last = net.linears
    torch.testing.assert_close(net(x), last(torch.tanh(first(normalised))))


def test_bounds_accept_tensors_and_are_checkpointed() -> None:
    lower, upper = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0])
    net = FullyConnected([2, 8, 1], bounds=(lower, upper))
    state = net.state_dict()
    assert "input_scale" in state and "input_shift" in state
    other = FullyConnected([2, 8, 1], bounds=([5.0, 5.0], [6.0, 6.0]))
    other.load_state_dict(state)
    x = torch.rand(4, 2)
    torch.testing.assert_close(other(x), net(x))


def test_without_bounds_nothing_is_buffered() -> None:
    net = FullyConnected([2, 8, 1])
    assert net.input_scale is None
    assert "input_scale" not in net.state_dict()


def test_degenerate_bounds_name_the_coordinate() -> None:
    with pytest.raises(ConfigurationError, match=r"degenerate.*coordinate 1: lower=2, upper=2"):
        FullyConnected([2, 8, 1], bounds=([0.0, 2.0], [1.0, 2.0]))


def test_inverted_bounds_are_degenerate() -> None:
    with pytest.raises(ConfigurationError, match="upper > lower"):
        FullyConnected([1, 8, 1], bounds=([1.0], [0.0]))


def test_bounds_of_the_wrong_length_are_a_shape_error() -> None:
    with pytest.raises(ShapeError, match=r"in_dim=3"):
        FullyConnected([3, 8, 1], bounds=([0.0, 0.0], [1.0, 1.0]))


def test_bounds_must_be_a_pair() -> None:
    with pytest.raises(ConfigurationError, match=r"pair \(lower, upper\)"):
        FullyConnected([2, 8, 1], bounds=([0.0, 0.0], [1.0, 1.0], [2.0, 2.0]))  # type: ignore[arg-type]


def test_infinite_bounds_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="not finite"):
        FullyConnected([1, 8, 1], bounds=([0.0], [float("inf")]))


def test_dtype_argument_sets_parameters_and_buffers() -> None:
    net = FullyConnected([2, 8, 1], bounds=BOUNDS, dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net.input_scale is not None and net.input_scale.dtype == torch.float64


def test_network_pickles_and_deep_copies() -> None:
    net = FullyConnected([2, 8, 1], activation="gelu", bounds=BOUNDS)
    x = torch.rand(3, 2)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        torch.testing.assert_close(clone(x), net(x))


def test_repr_names_the_configuration() -> None:
    text = repr(FullyConnected([2, 8, 1], activation="sin", bounds=BOUNDS))
    assert "activation='sin'" in text and "normalised=True" in text


def test_points_of_another_dtype_than_the_weights_are_refused_naming_both() -> None:
    net = FullyConnected([2, 4, 1])
    message = r"weights are torch.float32 but the points are torch.float64"
    with pytest.raises(ShapeError, match=message):
        net(torch.zeros(3, 2, dtype=torch.float64))
