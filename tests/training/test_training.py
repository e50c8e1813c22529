"""The training service in-process: accuracy on a small problem, L-BFGS, NaN, inverse problems."""

from __future__ import annotations

import math

import pytest
import torch

import deepinn as dp
from deepinn.constraints import DataConstraint, DirichletBC, PDEConstraint
from deepinn.training import adam_lbfgs, fit, lbfgs


def _poisson_1d(n_interior: int = 64):
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    pde = PDEConstraint(
        "pde",
        dp.samplers.GridSampler(interval, n_interior),
        residual=lambda f: -f.laplacian("u") / math.pi**2,
        source=exact,
    )
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("poisson1d", interval, [pde, bc], exact=exact)


def _net(problem, hidden=(20, 20)):
    torch.manual_seed(0)
    return dp.nn.FullyConnected(
        [problem.space.dim, *hidden, len(problem.outputs)],
        "tanh",
        bounds=problem.domain.bounding_box(),
    )


def test_adam_then_lbfgs_solves_poisson_1d():
    problem = _poisson_1d()
    result = fit(
        problem,
        _net(problem),
        phases=adam_lbfgs(adam_steps=200),
        max_steps=400,
        dtype=torch.float64,
        trainer_options={"enable_progress_bar": False},
    )
    assert result.metrics["rel_l2"] < 1e-3
    assert set(result.metrics["loss_per_constraint"]) == {"pde", "boundary"}


def test_max_steps_bounds_the_optimizer_steps():
    problem = _poisson_1d()
    result = fit(
        problem, _net(problem), max_steps=7, trainer_options={"enable_progress_bar": False}
    )
    assert result.metrics["steps"] == 7


def test_lbfgs_says_why_it_stopped():
    # A linear fit: L-BFGS converges in a few iterations, well before max_steps.
    space = dp.spaces.R1("x")
    x = torch.linspace(0, 1, 16).unsqueeze(1)
    data = DataConstraint("data", space, x, 3 * x + 1)
    problem = dp.Problem(
        "line", dp.domains.Interval(space, 0, 1), [data], exact=lambda x: 3 * x + 1
    )
    net = torch.nn.Linear(1, 1)
    result = fit(problem, net, phases=[lbfgs()], max_steps=200, dtype=torch.float64,
                 trainer_options={"enable_progress_bar": False})
    assert result.metrics["steps"] < 200
    assert "converged" in result.metrics["stop_reason"]
    assert result.metrics["rel_l2"] < 1e-6


def test_non_finite_loss_names_step_and_constraint_and_keeps_last_good_checkpoint(tmp_path):
    problem = _poisson_1d()
    calls = {"n": 0}
    base = problem.constraints[0].residual_fn

    def poisoned(field):
        calls["n"] += 1
        value = base(field)
        return value * math.nan if calls["n"] > 26 else value

    problem.constraints[0].residual_fn = poisoned
    # Count the training steps' calls: one set-up pass (the first batch's check that every term
    # reaches the weights), no hint recording, no auto mode probe.
    problem.constraints[0].infer_hints = False
    with pytest.raises(dp.TrainingError, match=r"step 25 in constraint\(s\) \['pde'\]") as info:
        fit(problem, _net(problem), max_steps=100, run_dir=tmp_path, val_every=10, logger=False,
            field_mode="reverse", trainer_options={"enable_progress_bar": False})
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert str(last) in str(info.value)
    state = torch.load(last, weights_only=True)
    assert state["global_step"] == 20
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())


def test_inverse_problem_recovers_a_diffusion_coefficient():
    # -k u'' = k pi^2 sin(pi x) with k = 2; observe u = sin(pi x) with 1% noise.
    torch.manual_seed(0)
    space = dp.spaces.R1("x")
    interval = dp.domains.Interval(space, 0.0, 1.0)
    k = torch.nn.Parameter(torch.tensor(1.0))
    x_obs = torch.linspace(0, 1, 40).unsqueeze(1)
    u_obs = torch.sin(math.pi * x_obs) * (1 + 0.01 * torch.randn_like(x_obs))
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 64),
                        residual=lambda f: -k * f.laplacian("u") / math.pi**2,
                        source=lambda x: 2.0 * torch.sin(math.pi * x))
    data = DataConstraint("data", space, x_obs, u_obs, weight=10.0)
    problem = dp.Problem("inverse", interval, [pde, data], exact=lambda x: torch.sin(math.pi * x),
                         parameters={"k": k}, true_parameters={"k": 2.0})
    result = fit(problem, _net(problem), phases=adam_lbfgs(adam_steps=300, lr=1e-2), max_steps=800,
                 dtype=torch.float64, trainer_options={"enable_progress_bar": False})
    assert result.metrics["coefficient_rel_error"]["k"] < 0.01


def test_lbfgs_phase_can_switch_to_float64():
    problem = _poisson_1d()
    net = _net(problem)
    result = fit(
        problem,
        net,
        phases=adam_lbfgs(adam_steps=100, lbfgs_dtype="float64"),
        max_steps=300,
        trainer_options={"enable_progress_bar": False},
    )
    assert next(result.network.parameters()).dtype == torch.float64
    assert result.metrics["rel_l2"] < 1e-3


def test_unknown_phase_dtype_is_named():
    problem = _poisson_1d()
    with pytest.raises(dp.ConfigurationError, match=r"dtype = 'float16'.*float64"):
        fit(
            problem,
            _net(problem),
            phases=adam_lbfgs(adam_steps=10, lbfgs_dtype="float16"),
            max_steps=20,
        )


def _random_problem(seed_of_sampler: int):
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(square, 32, seed=seed_of_sampler),
        residual=lambda f: f.laplacian("u"),
    )
    return dp.Problem("random", square, [pde])


def test_training_points_come_from_the_run_seed_not_from_a_sampler_s_own_seed():
    # A sampler's seed serves its standalone draws (sampler.sample_points()); training draws
    # every round from a generator of the run's seed, the constraint's name and the round.
    from deepinn.training import CollocationData, RunConfig

    def points(sampler_seed, run_seed):
        data = CollocationData(_random_problem(sampler_seed), RunConfig(seed=run_seed))
        return data.global_points(0)["pde"]["x"]

    assert torch.equal(points(0, 7), points(123, 7))
    assert not torch.equal(points(0, 7), points(0, 8))
    samplers = [_random_problem(s).constraints[0].sampler for s in (0, 1)]
    assert not torch.equal(*(sampler.sample_points().as_tensor for sampler in samplers))
