"""A warm start (``init_from``): a new run begins at a finished run's final weights; a network
that does not fit, a folder that is no finished run, and ``init_from`` with ``resume`` are
refused."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.nn import FullyConnected
from deepinn.training import RunConfig, fit, lbfgs

LINE = dp.domains.Interval(dp.spaces.R1("x"), 0, 1)
QUIET: dict[str, Any] = {"enable_progress_bar": False}


def poisson(scale: float = 1.0) -> dp.Problem:
    """-u'' = scale pi^2 sin(pi x) on [0, 1], u = 0 at both ends."""

    def source(x: torch.Tensor) -> torch.Tensor:
        return scale * math.pi**2 * torch.sin(math.pi * x)

    constraints = [
        PDEConstraint("pde", dp.samplers.RandomUniformSampler(LINE, 32),
                      lambda f: -f.laplacian("u"), source=source),
        DirichletBC("ends", dp.samplers.RandomUniformSampler(LINE.boundary, 2, seed=1),
                    lambda x: 0 * x),
    ]
    return dp.Problem("line_poisson", LINE, constraints,
                      exact=lambda x: scale * torch.sin(math.pi * x))


def network(width: int = 8, seed: int = 0) -> FullyConnected:
    torch.manual_seed(seed)
    return FullyConnected([1, width, 1], "tanh")


def _fit(problem: dp.Problem, net: torch.nn.Module, **knobs: Any) -> Any:
    options = {**QUIET, "callbacks": knobs.pop("callbacks", [])}
    knobs.setdefault("max_steps", 10)
    return fit(problem, net, logger=False, dtype=torch.float64, eval_points=50, threads=1,
               trainer_options=options, **knobs)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    _fit(poisson(), network(), run_dir=run_dir)
    return run_dir


class _FirstWeights(pl.Callback):
    """The network's weights when training starts."""

    state: dict[str, torch.Tensor]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        net = pl_module.net
        self.state = {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_a_new_run_starts_at_the_finished_runs_weights(
    finished: Path, caplog: pytest.LogCaptureFixture
) -> None:
    saved = torch.load(finished / "network.pt", weights_only=True)
    first = _FirstWeights()
    with caplog.at_level(logging.INFO, logger="deepinn"):
        result = _fit(poisson(), network(seed=5), init_from=str(finished), callbacks=[first])
    assert first.state.keys() == saved.keys()
    for key, value in saved.items():
        torch.testing.assert_close(first.state[key], value, rtol=0, atol=0)
    assert first.state[key].dtype == torch.float64
    assert result.metrics["steps"] == 10  # a new run: from step 0, not the finished run's step
    assert f"initialised from {finished / 'network.pt'}" in caplog.text


def test_a_warm_start_takes_a_changed_parameter_and_another_optimizer(finished: Path) -> None:
    saved = torch.load(finished / "network.pt", weights_only=True)
    first = _FirstWeights()
    warm = _fit(poisson(2.0), network(seed=5), phases=lbfgs(), max_steps=5, callbacks=[first],
                init_from=finished / "network.pt")  # a .pt file, and a PathLike
    for key, value in saved.items():
        torch.testing.assert_close(first.state[key], value, rtol=0, atol=0)
    assert warm.metrics["steps"] == 5 and math.isfinite(warm.metrics["final_loss"])


def test_a_network_that_does_not_fit_is_refused_naming_both_shapes(finished: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"does not fit") as info:
        _fit(poisson(), network(width=16), init_from=str(finished))
    assert "[8, 1]" in str(info.value) and "[16, 1]" in str(info.value)
    assert "init_from=None" in str(info.value)


def test_a_folder_that_is_no_finished_run_is_refused(finished: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no network\.pt \(not a finished run"):
        _fit(poisson(), network(), init_from=str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"no such folder or \.pt file"):
        _fit(poisson(), network(), init_from=str(tmp_path / "missing"))
    (tmp_path / "bad.pt").write_bytes(b"not a tensor file")
    with pytest.raises(ConfigurationError, match=r"cannot read .*bad\.pt"):
        _fit(poisson(), network(), init_from=str(tmp_path / "bad.pt"))


def test_init_from_with_resume_or_time_marching_is_refused(finished: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"resume continues the same run.*init_from "
                       r"starts a new run") as info:
        _fit(poisson(), network(), init_from=str(finished), resume=str(finished))
    assert "init_from=None" in str(info.value)
    with pytest.raises(ConfigurationError, match=r"time-marching run is not supported"):
        RunConfig(init_from=str(finished), marching={"windows": 2, "time": "t"})
