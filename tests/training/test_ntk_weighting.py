"""NTK loss weights (weighting.name=ntk): the trace estimate, the balancing rule, logging, the
settings, and a bit-identical resume."""

from __future__ import annotations

import pytest
import torch
from scaled_boundary import scaled_boundary_problem

import deepinn as dp
from deepinn import ConfigurationError
from deepinn.operators import Field
from deepinn.training import fit
from deepinn.training.settings._settings import RunConfig
from deepinn.training.step._loss import PINNLoss
from deepinn.training.toolbox._ntk import mean_ntk_diagonals
from deepinn.training.toolbox._weighting import LossWeighting, WeightingConfig

OPTIONS = {"trainer_options": {"enable_progress_bar": False}, "eval_points": 50, "threads": 1}


def _problem(scale: float = 100.0, n: int = 16) -> dp.Problem:
    return scaled_boundary_problem(scale, n)


def _net():
    torch.manual_seed(0)
    return dp.nn.FullyConnected([1, 8, 8, 1], "tanh").double()


def _points(problem):
    return {c.name: c.sample(torch.Generator().manual_seed(0)) for c in problem.constraints}


def _brute_force(problem, net, points) -> torch.Tensor:
    """Mean over every residual entry of ||d r_n / d theta||^2, one backward per entry."""
    parameters = list(net.parameters())
    means = []
    for constraint in problem.constraints:
        batch = points[constraint.name]
        x = constraint.inputs(batch).double()
        field = Field(net, x, problem.space, problem.outputs, mode="reverse")
        residual = constraint.checked_residual(field, batch).reshape(-1)
        squares = []
        for entry in residual:
            grads = torch.autograd.grad(entry, parameters, retain_graph=True, allow_unused=True)
            squares.append(sum(float(g.square().sum()) for g in grads if g is not None))
        means.append(sum(squares) / len(squares))
    return torch.tensor(means, dtype=torch.float64)


def test_the_mean_ntk_diagonal_matches_per_sample_gradients():
    problem, net = _problem(), _net()
    points = {k: {n: v.double() for n, v in b.items()} for k, b in _points(problem).items()}
    loss = PINNLoss(problem, net)
    sums, counts = mean_ntk_diagonals(loss, points, list(net.parameters()), rows=1000)
    assert counts.tolist() == [16.0, 2.0]
    torch.testing.assert_close(sums / counts, _brute_force(problem, net, points))


def test_the_estimate_uses_evenly_spaced_rows():
    problem, net = _problem(), _net()
    points = {k: {n: v.double() for n, v in b.items()} for k, b in _points(problem).items()}
    loss = PINNLoss(problem, net)
    _, counts = mean_ntk_diagonals(loss, points, list(net.parameters()), rows=4)
    assert counts.tolist() == [4.0, 2.0]


def test_ntk_weights_are_the_trace_ratios():
    problem, net = _problem(), _net()
    points = {k: {n: v.double() for n, v in b.items()} for k, b in _points(problem).items()}
    loss = PINNLoss(problem, net)
    balancer = LossWeighting(
        WeightingConfig("ntk", alpha=0.0, ntk_rows=1000), ["pde", "boundary"], [1.0, 3.0]
    ).double()
    _, losses = loss(points)
    balancer.update(losses, list(net.parameters()), loss=loss, points=points)
    traces = _brute_force(problem, net, points)
    torch.testing.assert_close(balancer.weights, traces.sum() / traces)
    assert set(balancer.logged()) == {"train/weight/pde", "train/weight/boundary"}


def test_ntk_settings_are_checked():
    assert RunConfig(weighting={"name": "ntk", "ntk_rows": 8}).weighting.ntk_rows == 8
    with pytest.raises(ConfigurationError, match=r"weighting.ntk_rows"):
        RunConfig(weighting={"name": "ntk", "ntk_rows": 0})
    with pytest.raises(ConfigurationError, match=r"grad_norm, none, ntk|grad_norm, ntk"):
        WeightingConfig("ntkk")


def _fit(steps, **options):
    weighting = WeightingConfig("ntk", alpha=0.5, every=3, ntk_rows=8)
    return fit(_problem(), _net(), max_steps=steps, weighting=weighting, dtype=torch.float64,
               field_mode="forward", **OPTIONS, **options)  # no timing-based choice of mode


def test_a_run_logs_the_weights_and_resumes_bit_identically(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    whole = _fit(10, logger=False)
    weights = whole.module.balancer.weights.clone()
    assert float(weights[0]) != 1.0  # updated
    _fit(5, run_dir=tmp_path / "a", log_every=3)
    events = EventAccumulator(str(tmp_path / "a" / "tensorboard"))
    events.Reload()
    assert {"train/weight/pde", "train/weight/boundary"} <= set(events.Tags()["scalars"])
    checkpoint = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", weights_only=True)
    assert isinstance(checkpoint["state_dict"]["balancer.weights"], torch.Tensor)
    resumed = _fit(10, resume=str(tmp_path / "a"), logger=False)
    assert torch.equal(resumed.module.balancer.weights, weights)
    for key, value in whole.network.state_dict().items():
        assert torch.equal(resumed.network.state_dict()[key], value), key
