"""PirateNet: shapes, the identity blocks at initialisation, exact forward lanes, the
physics-informed last layer, the registry and a tiny run reloaded through deepinn.load."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import deepinn as dp
from deepinn import ConfigurationError
from deepinn.nn._pirate import PirateNet
from deepinn.plugins import load_registry
from deepinn.training.toolbox._physics_init import physics_informed_init

BOX = ([0.0, 0.0], [1.0, 2.0])


def _net(**options) -> PirateNet:
    torch.manual_seed(0)
    options = {"width": 16, "blocks": 2, "bounds": BOX, "dtype": torch.float64, **options}
    return PirateNet(2, 3, **options)


def _points(n: int = 7) -> torch.Tensor:
    return torch.rand(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


def test_shapes():
    net = _net()
    assert net(_points()).shape == (7, 3)
    assert net(_points()[0]).shape == (3,)
    u, du, d2u = net.forward_derivatives(_points())
    assert (u.shape, du.shape, d2u.shape) == ((7, 3), (7, 3, 2), (7, 3, 2))


def test_at_initialisation_it_is_the_linear_map_of_its_embedding():
    net = _net()
    assert bool((net.pirate.alpha == 0).all())
    x = _points()
    embedded = net.embeddings[0](x)
    last = net.pirate.last
    torch.testing.assert_close(net(x), F.linear(embedded, last.weight, last.bias))
    torch.testing.assert_close(net.features(x), embedded)


@pytest.mark.parametrize("periodic", [None, {0: 1.0}])
def test_forward_lanes_match_autograd(periodic):
    net = _net(periodic=periodic)
    with torch.no_grad():
        net.pirate.alpha.copy_(torch.tensor([0.3, -0.7]))
    x = _points().requires_grad_(True)
    u = net(x)
    rows = [torch.autograd.grad(u[:, j].sum(), x, create_graph=True)[0] for j in range(3)]
    grad = torch.stack(rows, dim=1)
    second = torch.stack(
        [
            torch.stack(
                [torch.autograd.grad(rows[j][:, i].sum(), x, retain_graph=True)[0][:, i]
                 for i in range(2)], dim=1,
            )
            for j in range(3)
        ],
        dim=1,
    )
    value, du, d2u = net.forward_derivatives(x.detach())
    torch.testing.assert_close(value, u.detach())
    torch.testing.assert_close(du, grad.detach())
    torch.testing.assert_close(d2u, second)
    _, _, lap = net.forward_laplacian(x.detach())
    torch.testing.assert_close(lap, second.sum(dim=2))


def test_the_output_layer_is_fitted_by_least_squares():
    net = _net(width=32)
    x = _points(12)
    target = torch.sin(3 * x[:, 0]) + x[:, 1]
    fitted = net.fit_output_layer([x, x, x[:0]], [target, 2 * target, None])
    assert fitted == [0, 1]
    prediction = net(x)
    torch.testing.assert_close(prediction[:, 0], target)  # 12 points, 33 unknowns: exact
    torch.testing.assert_close(prediction[:, 1], 2 * target)


def test_physics_informed_init_fits_the_initial_and_boundary_values(registry):
    def make_sampler(domain, n):
        return registry.build("samplers", "random", None, domain=domain, n_points=n, seed=3)

    problem = registry.build(
        "problems", "heat", {"n_initial": 64, "n_boundary": 32},
        domain=registry.build("domains", "interval"), make_sampler=make_sampler,
    )
    torch.manual_seed(0)
    net = PirateNet(2, 1, width=128, blocks=1, bounds=([0.0, 0.0], [1.0, 1.0]),
                    dtype=torch.float64)
    x = torch.linspace(0, 1, 50, dtype=torch.float64)
    start = torch.stack([x, torch.zeros_like(x)], dim=1)
    before = (net(start)[:, 0] - torch.sin(math.pi * x)).abs().max()
    assert physics_informed_init(problem, net) == ["u"]
    after = (net(start)[:, 0] - torch.sin(math.pi * x)).abs().max()
    assert after < 0.05 < before


def test_physics_init_off_leaves_the_weights():
    net = _net(physics_init=False)
    weight = net.pirate.last.weight.detach().clone()
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    bc = dp.constraints.DirichletBC(
        "wall", dp.samplers.RandomUniformSampler(square.boundary, 8), lambda x: x[:, :1] * 0,
        outputs="a",
    )
    problem = dp.Problem("p", square, [bc], outputs=("a", "b", "c"))
    assert physics_informed_init(problem, net) == []
    torch.testing.assert_close(net.pirate.last.weight, weight)


def test_registered_with_typed_parameters():
    registry = load_registry(strict=True, entry_points=[])
    net = registry.build("networks", "pirate", {"width": 8, "blocks": 1}, in_dim=2, out_dim=1,
                         bounds=BOX)
    assert isinstance(net, PirateNet) and net(torch.rand(4, 2)).shape == (4, 1)
    with pytest.raises(ConfigurationError, match=r"net.width=7"):
        registry.params("networks", "pirate", {"width": 7})
    with pytest.raises(ConfigurationError, match=r"net.blocks=0"):
        registry.params("networks", "pirate", {"blocks": 0})


def test_a_tiny_run_trains_and_reloads(tmp_path: Path):
    from deepinn.app import train

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    run_dir = tmp_path / "run"
    try:
        code = train([
            "problem=heat", "net=pirate", "net.width=16", "net.blocks=2", "optimizer=adam",
            "problem.n_interior=64", "problem.n_boundary=16", "problem.n_initial=16",
            "eval_points=100", "trainer.max_steps=20", "dtype=float64", "threads=1",
            "logger=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={run_dir}",
        ])
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level = handlers, level
    assert code == 0
    run = dp.load(run_dir)
    assert isinstance(run.network, PirateNet)
    assert bool((run.network.pirate.alpha != 0).any())  # trained: the blocks switched on
    assert run.error()["rel_l2"] == pytest.approx(run.metrics["rel_l2"], rel=1e-6)


def test_every_parameter_is_documented_for_deepinn_show():
    import dataclasses

    from deepinn.nn._plugin import PirateParams
    from deepinn.plugins._listing import _field_docs

    docs = _field_docs(PirateParams)
    assert [f.name for f in dataclasses.fields(PirateParams) if not docs.get(f.name)] == []


def test_outputs_left_unfitted_are_named_with_the_way_to_skip_the_fit():
    net = _net()
    weight = net.pirate.last.weight.detach().clone()
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    bc = dp.constraints.DirichletBC(
        "wall", dp.samplers.RandomUniformSampler(square.boundary, 8), lambda x: x[:, :1] * 0,
        outputs="a",
    )
    problem = dp.Problem("p", square, [bc], outputs=("a", "b", "c"))
    with pytest.warns(UserWarning, match=r"values of \['b', 'c'\].*net\.physics_init=false"):
        assert physics_informed_init(problem, net) == ["a"]
    torch.testing.assert_close(net.pirate.last.weight[1:], weight[1:])
