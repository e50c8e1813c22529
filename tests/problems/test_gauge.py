"""A gauge: outputs fixed only up to a constant are measured modulo it (per output and overall)."""

from __future__ import annotations

import json
import math

import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError
from deepinn.app import build_components, compose, register_configs
from deepinn.constraints import PDEConstraint
from deepinn.plugins import load_registry
from deepinn.training import adam, fit

SQUARE = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])


def _exact(x: torch.Tensor) -> torch.Tensor:
    u = torch.sin(math.pi * x[:, 0:1]) * x[:, 1:2]
    p = torch.cos(math.pi * x[:, 1:2])
    return torch.cat([u, p], dim=1)


def _problem(gauge: object = None) -> dp.Problem:
    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(SQUARE, 16, seed=0),
        residual=lambda f: f["u"] - f["u"], order=0,
    )
    return dp.Problem("gauged", SQUARE, [pde], outputs=("u", "p"), exact=_exact, gauge=gauge)


class _Shifted(torch.nn.Module):
    """The exact solution with the pressure shifted by a constant (and a parameter to train)."""

    def __init__(self, shift: float) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.shift = shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = _exact(x) * self.scale
        return values + torch.tensor([0.0, self.shift], dtype=values.dtype)


def test_the_free_constant_is_removed_from_gauged_outputs_only():
    problem = _problem({"p": "mean"})
    _, exact = problem.evaluation_set(200)
    shifted = exact + torch.tensor([0.5, 3.0], dtype=exact.dtype)
    aligned = problem.modulo_gauge(shifted, exact)
    torch.testing.assert_close(aligned[:, 1], exact[:, 1])
    torch.testing.assert_close(aligned[:, 0], shifted[:, 0])


def test_without_a_gauge_the_prediction_is_unchanged():
    problem = _problem()
    _, exact = problem.evaluation_set(50)
    shifted = exact + 1.0
    assert problem.gauge == {} and problem.modulo_gauge(shifted, exact) is shifted


@pytest.mark.parametrize(
    ("gauge", "match"),
    [
        ({"q": "mean"}, r"outputs are \['u', 'p'\]"),
        ({"p": "median"}, "gauge.p = 'median' is not a gauge"),
        ("p", "give a mapping output -> kind"),
    ],
)
def test_a_bad_gauge_is_refused(gauge, match):
    with pytest.raises(ConfigurationError, match=match):
        _problem(gauge)


def test_fit_reports_errors_modulo_the_gauge_per_output(tmp_path):
    result = fit(
        _problem({"p": "mean"}), _Shifted(3.0), phases=adam(lr=1e-12), max_steps=2,
        run_dir=tmp_path, logger=False, dtype=torch.float64, eval_points=500,
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["gauge"] == {"p": "mean"} == result.metrics["gauge"]
    assert metrics["rel_l2"] < 1e-9
    assert metrics["rel_l2_per_output"]["p"] < 1e-9


def test_fit_without_a_gauge_measures_the_constant(tmp_path):
    result = fit(
        _problem(), _Shifted(3.0), phases=adam(lr=1e-12), max_steps=2, run_dir=None,
        logger=False, dtype=torch.float64, eval_points=500,
    )
    assert result.metrics["rel_l2_per_output"]["p"] > 1.0 and "gauge" not in result.metrics


def test_a_yaml_problem_declares_its_gauge():
    registry = load_registry(strict=True, entry_points=[])
    register_configs(registry)
    cfg = compose(["+experiment=yaml_poisson_lshape", "+problem.gauge.u=mean"])
    problem, _, _ = build_components(cfg, registry)
    assert problem.gauge == {"u": "mean"}
    cfg = compose(["+experiment=yaml_poisson_lshape", "+problem.gauge.p=mean"])
    with pytest.raises(ConfigurationError, match=r"gauge names the output 'p'"):
        build_components(cfg, registry)
