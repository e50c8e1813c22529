"""Residual-adaptive collocation: RAD/RAR-D selection, the loop's residual, DDP ranks, resume."""

from __future__ import annotations

import math

import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.samplers import AdaptiveSampler
from deepinn.training import RunConfig, fit
from deepinn.training.step._data import CollocationData, round_generator

SQUARE = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
PEAK = torch.tensor([0.7, 0.3])


def _peak(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-((x - PEAK.to(x)) ** 2).sum(dim=1) / 0.005)


def _near_peak(points: torch.Tensor) -> float:
    return float(((points - PEAK.to(points)).norm(dim=1) < 0.1).double().mean())


def test_rad_points_concentrate_at_a_planted_residual_peak() -> None:
    sampler = AdaptiveSampler(
        SQUARE, 400, residual_fn=_peak, pool_factor=10, seed=0, method="rad", k=1.0, c=0.1
    )
    points = sampler.sample_points().as_tensor
    uniform = math.pi * 0.1**2  # the share of uniform points within 0.1 of the peak
    assert points.shape == (400, 2)
    assert _near_peak(points) > 8 * uniform
    assert _near_peak(points) < 1.0  # RAD draws, it does not only keep the largest residuals


def test_rad_with_k_zero_is_uniform() -> None:
    sampler = AdaptiveSampler(
        SQUARE, 400, residual_fn=_peak, pool_factor=10, seed=0, method="rad", k=0.0
    )
    assert _near_peak(sampler.sample_points().as_tensor) < 3 * math.pi * 0.1**2


def test_unknown_method_is_refused_with_the_choices() -> None:
    with pytest.raises(
        ConfigurationError, match=r"sampler.method = 'rar'.*'rad', 'rard', 'greedy'"
    ):
        AdaptiveSampler(SQUARE, 10, method="rar")


def _problem(method: str = "rad", n: int = 200, pool_factor: int = 8):
    sampler = AdaptiveSampler(
        SQUARE, n, pool_factor=pool_factor, seed=0, method=method, k=1.0, c=0.1
    )
    pde = PDEConstraint(
        "pde", sampler, residual=lambda f: f.laplacian("u"), source=lambda x: x[:, :1]
    )
    bc = DirichletBC(
        "boundary",
        dp.samplers.RandomUniformSampler(SQUARE.boundary, 40),
        value=lambda x: 0 * x[:, :1],
    )
    return dp.Problem("adaptive", SQUARE, [pde, bc])


def test_adaptive_sampler_without_resampling_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"sampler=adaptive.*resample_every = 0.*resample_every=500"
    ):
        CollocationData(_problem(), RunConfig(seed=0, resample_every=0))


def test_collocation_rounds_follow_the_residual() -> None:
    data = CollocationData(_problem(), RunConfig(seed=3, resample_every=5))
    data.residual = lambda constraint, batch: _peak(batch["x"].double())
    first, second = data.global_points(0)["pde"]["x"], data.global_points(1)["pde"]["x"]
    assert _near_peak(first) < 3 * math.pi * 0.1**2
    assert _near_peak(second) > 6 * math.pi * 0.1**2  # the pool holds ~50 near the peak
    assert data.global_points(1)["pde"]["source"].shape == (200, 1)  # per-point data follows


def test_adaptive_points_on_an_interval_s_ends_keep_both_ends_in_every_round() -> None:
    interval = dp.domains.Interval(dp.spaces.R1("x"), -1.0, 1.0)
    pde = PDEConstraint("pde", AdaptiveSampler(interval, 32, seed=0), residual=lambda f: f["u"])
    ends = DirichletBC("ends", AdaptiveSampler(interval.boundary, 2, seed=0), value=lambda x: 0 * x)
    problem = dp.Problem("ends", interval, [pde, ends])
    data = CollocationData(problem, RunConfig(seed=1, resample_every=5))
    data.residual = lambda constraint, batch: (batch["x"][:, 0] + 1.0).double()  # largest at +1
    assert data.adaptive == ["pde"]
    for round_index in range(3):
        assert sorted(data.global_points(round_index)["ends"]["x"].flatten().tolist()) == [-1, 1]


def test_rard_keeps_the_points_and_adds_a_fraction() -> None:
    data = CollocationData(_problem("rard"), RunConfig(seed=3, resample_every=5))
    data.residual = lambda constraint, batch: _peak(batch["x"].double())
    first, second = data.global_points(0)["pde"]["x"], data.global_points(1)["pde"]["x"]
    assert second.shape == (220, 2) and torch.equal(second[:200], first)
    assert _near_peak(second[200:]) > 0.5


def _net():
    torch.manual_seed(0)
    return dp.nn.FullyConnected([2, 8, 8, 1], "tanh")


OPTIONS = {"trainer_options": {"enable_progress_bar": False}, "logger": False, "eval_points": 50}


def test_the_training_loop_scores_the_pool_with_the_current_network(monkeypatch) -> None:
    from deepinn.training.step._loss import PINNLoss

    calls: list[int] = []
    original = PINNLoss.pointwise_residual

    def spy(self, constraint, batch, chunk=32_768):
        calls.append(len(batch["x"]))
        return original(self, constraint, batch, chunk)

    monkeypatch.setattr(PINNLoss, "pointwise_residual", spy)
    result = fit(_problem(), _net(), max_steps=12, resample_every=5, **OPTIONS)
    data = result.trainer.datamodule
    assert calls and set(calls) == {200 * 8}  # every round > 0 scored its pool of candidates
    constraint = _problem().constraints[0]
    with constraint.sampler.drawing_pool():
        pool = constraint.sample(round_generator(0, "pde", 2))["x"]
    chosen = data.current_global_points()["pde"]["x"]  # round 2 (steps 10, 11)
    assert not torch.equal(chosen, pool[:200])  # not the uniform head of the pool
    assert bool((chosen[:, None, :] == pool[None]).all(dim=2).any(dim=1).all())  # from the pool
    scores = result.module.loss.pointwise_residual("pde", data.current_global_points()["pde"])
    assert scores.shape == (200,)


def test_a_resumed_run_draws_what_the_uninterrupted_run_drew(tmp_path) -> None:
    common = {"resample_every": 5, "seed": 1, **OPTIONS}
    reference = fit(_problem(), _net(), max_steps=20, **common)
    fit(_problem(), _net(), max_steps=13, run_dir=tmp_path / "a", checkpoint_every=13, **common)
    resumed = fit(_problem(), _net(), max_steps=20, resume=str(tmp_path / "a"), **common)
    ref_points = reference.trainer.datamodule.current_global_points()["pde"]["x"]
    res_points = resumed.trainer.datamodule.current_global_points()["pde"]["x"]
    assert torch.equal(ref_points, res_points)
    assert resumed.metrics["final_loss"] == pytest.approx(reference.metrics["final_loss"], rel=1e-5)


def test_an_adaptive_run_takes_one_step_per_batch() -> None:
    # Lightning's loader fetches a batch ahead: with ten steps per batch a round's selection
    # would be scored with weights ten steps old, so a batch stays one step.
    options = dict(OPTIONS, val_every=10)
    result = fit(_problem(), _net(), max_steps=20, resample_every=10, **options)
    assert result.module.steps_per_batch == 1 and result.metrics["steps"] == 20


def test_adaptive_points_that_would_never_be_reselected_are_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"resample_every = 10 and max_steps = 5: the points would never"
    ):
        fit(
            _problem(),
            dp.nn.FullyConnected([2, 4, 1]),
            max_steps=5,
            resample_every=10,
            logger=False,
            trainer_options={"enable_progress_bar": False},
        )
