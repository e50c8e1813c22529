"""resmlp: shapes, input normalisation, smoothness, dtype, pickling, errors."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from deepinn import ConfigurationError

from deepinn_example import ResMLP
from deepinn_example.network import ResMLPParams, build_resmlp


def test_shapes_and_parameter_count() -> None:
    net = build_resmlp(ResMLPParams(width=8, blocks=2), in_dim=3, out_dim=2)
    assert net(torch.rand(5, 3)).shape == (5, 2)
    assert sum(p.numel() for p in net.parameters()) == (3 * 8 + 8) + 2 * (8 * 8 + 8) + (8 * 2 + 2)


def test_bounds_map_onto_the_unit_cube() -> None:
    bounds = (torch.tensor([-1.0, 2.0]), torch.tensor([3.0, 4.0]))
    net = build_resmlp(ResMLPParams(), 2, 1, bounds)
    corners = torch.tensor([[-1.0, 2.0], [3.0, 4.0]])
    assert (corners * net.scale + net.shift).tolist() == [[-1.0, -1.0], [1.0, 1.0]]
    plain = build_resmlp(ResMLPParams(normalise=False), 2, 1, bounds)
    assert plain.scale.tolist() == [1.0, 1.0] and plain.shift.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("activation", ["tanh", "sin", "silu", "gelu"])
def test_second_derivatives_exist(activation: str) -> None:
    net = ResMLP(2, 1, width=8, blocks=2, activation=activation).double()
    x = torch.rand(6, 2, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g[:, 0].sum(), x)
    assert bool(torch.isfinite(h).all()) and float(h.abs().sum()) > 0


def test_casts_copies_and_pickles() -> None:
    net = ResMLP(2, 1, width=4, blocks=1, bounds=([0.0, 0.0], [1.0, 1.0])).double()
    assert net.scale.dtype == torch.float64
    x = torch.rand(3, 2, dtype=torch.float64)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert torch.equal(clone(x), net(x))


@pytest.mark.parametrize(
    ("params", "match"),
    [({"width": 0}, "width"), ({"blocks": -1}, "blocks"), ({"activation": "relu6"}, "activation")],
)
def test_bad_parameters(params: dict, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        ResMLPParams(**params)


def test_bad_bounds() -> None:
    with pytest.raises(ConfigurationError, match="upper > lower"):
        ResMLP(2, 1, bounds=([0.0, 1.0], [1.0, 1.0]))
