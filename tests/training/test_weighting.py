"""Loss balancing (weighting.name=grad_norm): equal gradient norms, none is 1, DDP norms, resume."""

from __future__ import annotations

import pytest
import torch
from scaled_boundary import scaled_boundary_problem

import deepinn as dp
from deepinn import ConfigurationError
from deepinn.training import fit
from deepinn.training.settings._settings import RunConfig
from deepinn.training.step._loss import PINNLoss
from deepinn.training.toolbox._weighting import LossWeighting, WeightingConfig

OPTIONS = {"trainer_options": {"enable_progress_bar": False}, "eval_points": 50}


def _problem(scale: float = 1000.0, n: int = 32) -> dp.Problem:
    return scaled_boundary_problem(scale, n)


def _net():
    torch.manual_seed(0)
    return dp.nn.FullyConnected([1, 8, 8, 1], "tanh")


def _points(problem):
    return {c.name: c.sample(torch.Generator().manual_seed(0)) for c in problem.constraints}


def _norms(loss: PINNLoss, balancer: LossWeighting, points) -> torch.Tensor:
    _, losses = loss(points)
    parameters = list(loss.network.parameters())
    weighted = {n: balancer.weights[i] * losses[n] for i, n in enumerate(balancer.names)}
    return balancer.gradient_norms(weighted, parameters)


def test_grad_norm_equalises_two_terms_of_very_different_scale() -> None:
    problem = _problem()
    loss = PINNLoss(problem, _net())
    balancer = LossWeighting(WeightingConfig("grad_norm", alpha=0.0), ["pde", "boundary"], [1, 1])
    points = _points(problem)
    before = _norms(loss, balancer, points)
    assert float(before.max() / before.min()) > 100
    _, losses = loss(points)
    balancer.update(losses, list(loss.network.parameters()))
    after = _norms(loss, balancer, points)
    assert float(after[0]) == pytest.approx(float(after[1]), rel=1e-6)


def test_a_term_at_rounding_level_keeps_its_weight_and_the_others_are_balanced() -> None:
    # An exactly satisfied condition (an embedding makes it vanish) has a gradient of rounding
    # size; sum_j g_j / g_i would give it a weight of ~1e15.
    net = _net()
    x = torch.linspace(0, 1, 16).reshape(-1, 1)
    u = net(x)
    losses = {
        "big": (30 * u).square().mean(),
        "small": u.square().mean(),
        "exact": (1e-18 * u).square().mean(),
    }
    balancer = LossWeighting(WeightingConfig("grad_norm", alpha=0.0), list(losses), [1, 1, 1])
    balancer.update(losses, list(net.parameters()))
    big, small, exact = balancer.weights.tolist()
    assert exact == 1.0
    assert small / big == pytest.approx(30.0**2, rel=1e-4)


def test_grad_norm_moving_average_moves_a_fraction_alpha() -> None:
    problem = _problem()
    loss = PINNLoss(problem, _net())
    fresh = LossWeighting(WeightingConfig("grad_norm", alpha=0.0), ["pde", "boundary"], [1, 1])
    slow = LossWeighting(WeightingConfig("grad_norm", alpha=0.9), ["pde", "boundary"], [1, 1])
    _, losses = loss(_points(problem))
    for balancer in (fresh, slow):
        balancer.update(losses, list(loss.network.parameters()))
    assert torch.allclose(slow.weights, 0.9 + 0.1 * fresh.weights)


def test_configured_weights_still_multiply_the_balanced_terms() -> None:
    problem = _problem()
    problem.constraints[1].weight = 4.0
    loss = PINNLoss(problem, _net())
    balancer = LossWeighting(WeightingConfig("grad_norm", alpha=0.0), ["pde", "boundary"], [1, 4])
    points = _points(problem)
    _, losses = loss(points)
    balancer.update(losses, list(loss.network.parameters()))
    after = _norms(loss, balancer, points)
    assert float(after[1] / after[0]) == pytest.approx(4.0, rel=1e-6)


def test_gradient_norms_are_taken_after_summing_the_shards() -> None:
    """Under DDP the norm of the global gradient, not the sum of the shards' norms."""
    problem = _problem(n=32)
    loss = PINNLoss(problem, _net())
    balancer = LossWeighting(WeightingConfig("grad_norm"), ["pde", "boundary"], [1, 1])
    full = _points(problem)
    rows = {name: batch["x"].shape[0] for name, batch in full.items()}
    shards = [{n: {k: v[r::2] for k, v in b.items()} for n, b in full.items()} for r in (0, 1)]
    parameters = list(loss.network.parameters())
    other = balancer.gradient_norms  # rank 1's per-term gradients, as an all-reduce would add
    _, rank1 = loss(shards[1], rows)
    rows1 = torch.stack(
        [
            torch.cat(
                [
                    (g if g is not None else torch.zeros_like(p)).reshape(-1)
                    for g, p in zip(
                        torch.autograd.grad(rank1[n], parameters, allow_unused=True),
                        parameters,
                        strict=True,
                    )
                ]
            )
            for n in balancer.names
        ]
    )
    _, rank0 = loss(shards[0], rows)
    reduced = other(rank0, parameters, reduce=lambda matrix: matrix + rows1)
    _, whole = loss(full)
    assert torch.allclose(reduced, balancer.gradient_norms(whole, parameters), rtol=1e-5)


def test_weighting_none_leaves_every_weight_one() -> None:
    result = fit(_problem(), _net(), max_steps=3, logger=False, **OPTIONS)
    assert torch.equal(result.module.balancer.weights, torch.ones(2))
    assert result.module.balancer.logged() == {}


def test_unknown_weighting_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"weighting.name 'gradnorm'.*grad_norm, none"):
        RunConfig(weighting={"name": "gradnorm"})
    with pytest.raises(ConfigurationError, match=r"weighting.alpha = 1.5"):
        WeightingConfig("grad_norm", alpha=1.5)


def test_fit_logs_and_a_resumed_run_restores_the_weights(tmp_path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    weighting = WeightingConfig("grad_norm", alpha=0.5, every=5)
    first = fit(_problem(), _net(), max_steps=6, run_dir=tmp_path / "a", weighting=weighting,
                log_every=5, **OPTIONS)
    weights = first.module.balancer.weights.clone()
    assert float(weights[1] / weights[0]) < 0.1  # the large boundary term is weighted down
    events = EventAccumulator(str(tmp_path / "a" / "tensorboard"))
    events.Reload()
    assert {"train/weight/pde", "train/weight/boundary"} <= set(events.Tags()["scalars"])
    resumed = fit(_problem(), _net(), max_steps=8, resume=str(tmp_path / "a"), weighting=weighting,
                  logger=False, **OPTIONS)  # steps 6, 7: no update, the weights are the saved ones
    assert torch.equal(resumed.module.balancer.weights, weights)
