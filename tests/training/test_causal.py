"""Causal training (causal.tol, causal.chunks, causal.time): the weights, the plain limit,
refusals."""

from __future__ import annotations

import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError
from deepinn._errors import spoken_as
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import RunConfig, fit
from deepinn.training.step._loss import PINNLoss
from deepinn.training.toolbox._causal import CausalConfig, causal_weights

BOX = dp.domains.Parallelogram(dp.spaces.R1("t") * dp.spaces.R1("x"), [0, 0], [1, 0], [0, 1])


class Formula(torch.nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.function(x) + 0 * self.dummy


def _problem(n: int = 400):
    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(BOX, n, seed=0),
        residual=lambda f: f["u"], order=0,
    )
    initial = DirichletBC(
        "initial", dp.samplers.RandomUniformSampler(BOX, 20, seed=1), value=lambda x: 0 * x[:, :1]
    )
    return dp.Problem("toy", BOX, [pde, initial])


def _points(problem):
    return {c.name: c.sample(torch.Generator().manual_seed(0)) for c in problem.constraints}


def test_weights_follow_the_formula_on_planted_chunk_losses() -> None:
    losses = torch.tensor([0.5, 1.0, 2.0, 4.0])
    expected = torch.exp(-2.0 * torch.tensor([0.0, 0.5, 1.5, 3.5]))
    assert torch.allclose(causal_weights(losses, 2.0), expected)


def test_weights_fall_in_time_and_rise_as_the_early_losses_fall() -> None:
    problem = _problem()
    causal = CausalConfig(tol=5.0, chunks=8)
    growing = PINNLoss(problem, Formula(lambda x: x[:, :1]), RunConfig(causal=causal))  # |r| = t
    growing(_points(problem))
    early = growing.causal.last_weights["pde"]
    assert bool((early[1:] <= early[:-1]).all()) and float(early[-1]) < 0.5
    # the early region fitted (r = 0 for t < 1/2): every weight rises or stays, the late ones rise
    fitted = PINNLoss(
        problem, Formula(lambda x: x[:, :1] * (x[:, :1] > 0.5)), RunConfig(causal=causal)
    )
    fitted(_points(problem))
    later = fitted.causal.last_weights["pde"]
    assert bool((later >= early - 1e-12).all()) and float(later[-1]) > float(early[-1]) * 2
    assert bool((later[:5] == 1).all())


@pytest.mark.parametrize("causal", [CausalConfig(tol=0.0), CausalConfig(tol=3.0, chunks=1)])
def test_tol_zero_or_one_chunk_is_the_plain_loss(causal) -> None:
    problem = _problem()
    network = Formula(lambda x: x[:, :1] ** 2 + x[:, 1:])
    plain_total, plain = PINNLoss(problem, network)(_points(problem))
    total, losses = PINNLoss(problem, network, RunConfig(causal=causal))(_points(problem))
    assert float(total.detach()) == pytest.approx(float(plain_total.detach()), rel=1e-6)
    assert float(losses["pde"]) == pytest.approx(float(plain["pde"]), rel=1e-6)


def test_causal_loss_is_smaller_than_plain_when_late_residuals_dominate() -> None:
    problem = _problem()
    network = Formula(lambda x: 3 * x[:, :1])
    _, plain = PINNLoss(problem, network)(_points(problem))
    run = RunConfig(causal=CausalConfig(tol=1.0, chunks=4))
    _, causal = PINNLoss(problem, network, run)(_points(problem))
    assert float(causal["pde"]) < 0.8 * float(plain["pde"])
    assert float(causal["initial"]) == pytest.approx(float(plain["initial"]))  # not a PDE term


def test_a_problem_without_time_is_refused() -> None:
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(square, 10), residual=lambda f: f["u"], order=0
    )
    problem = dp.Problem("space_only", square, [pde])
    match = r"causal.tol 1.0 > 0\) needs a PDE constraint.*coordinate 't'.*coordinates \(x0, x1\)"
    with pytest.raises(ConfigurationError, match=match) as info:
        PINNLoss(problem, Formula(lambda x: x[:, :1]), RunConfig(causal=CausalConfig(tol=1.0)))
    assert str(info.value).endswith("deepinn.fit(..., causal={'tol': 0})")
    with spoken_as("cli"):
        assert str(info.value).endswith("deepinn train causal.tol=0")


def test_bad_causal_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"causal.chunks = 0"):
        CausalConfig(tol=1.0, chunks=0)
    with pytest.raises(ConfigurationError, match=r"causal.tol = -1"):
        CausalConfig(tol=-1)


def test_fit_with_causal_training_runs_and_keeps_the_weights() -> None:
    torch.manual_seed(0)
    network = dp.nn.FullyConnected([2, 8, 1], "tanh")
    result = fit(
        _problem(100),
        network,
        max_steps=3,
        logger=False,
        causal=CausalConfig(tol=1.0, chunks=4),
        trainer_options={"enable_progress_bar": False},
        eval_points=50,
    )
    weights = result.module.loss.causal.last_weights["pde"]
    assert weights.shape == (4,) and float(weights[0]) == 1.0 and float(weights[-1]) < 1.0
