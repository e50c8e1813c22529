"""A warm start (``init_from``): a new run begins at a finished run's final weights; a network
that does not fit, a folder that is no finished run, and ``init_from`` with ``resume`` are
refused."""

from __future__ import annotations

import json
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


def inverse_poisson() -> dp.Problem:
    """-k u'' = 2 pi^2 sin(pi x) with k learned (true k = 2: u = sin(pi x))."""
    k = torch.nn.Parameter(torch.tensor(1.0))
    constraints = [
        PDEConstraint("pde", dp.samplers.RandomUniformSampler(LINE, 32),
                      lambda f: -k * f.laplacian("u"),
                      source=lambda x: 2 * math.pi**2 * torch.sin(math.pi * x)),
        DirichletBC("ends", dp.samplers.RandomUniformSampler(LINE.boundary, 2, seed=1),
                    lambda x: 0 * x),
    ]
    return dp.Problem("line_inverse", LINE, constraints, parameters={"k": k},
                      exact=lambda x: torch.sin(math.pi * x))


class _FirstCoefficients(pl.Callback):
    """The problem's coefficients when training starts."""

    values: dict[str, float]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.values = {n: float(p.detach()) for n, p in pl_module.problem.parameters.items()}


def test_a_warm_start_carries_the_learned_coefficients_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _fit(inverse_poisson(), network(), run_dir=tmp_path / "first")
    learned = json.loads((tmp_path / "first" / "run.json").read_text())["coefficients"]["k"]
    assert learned != 1.0
    first = _FirstCoefficients()
    with caplog.at_level(logging.INFO, logger="deepinn"):
        _fit(inverse_poisson(), network(seed=5), init_from=tmp_path / "first", callbacks=[first],
             max_steps=2)
    assert first.values == {"k": learned}
    assert f"learned coefficients k=[{learned}]" in caplog.text
    plain = _FirstWeights()  # a problem without the coefficient takes the weights alone
    _fit(poisson(), network(seed=5), init_from=tmp_path / "first", callbacks=[plain], max_steps=2)


def test_a_time_marching_run_is_refused_as_a_warm_start_naming_why(tmp_path: Path) -> None:
    box = dp.problems._spacetime.space_time(0.0, 1.0, 1.0)
    constraints = [PDEConstraint("pde", dp.samplers.RandomUniformSampler(box.domain, 16),
                                 lambda f: f.partial("u", "t") - f.partial("u", "x", "x"))]
    problem = dp.Problem("marched", box.domain, constraints)
    torch.manual_seed(0)
    _fit(problem, FullyConnected([2, 4, 1]), max_steps=2, run_dir=tmp_path / "run",
         marching={"windows": 2})
    with pytest.raises(ConfigurationError, match=r"is a time-marching run \(2 windows, edges "
                       r"\[0.0, 0.5, 1.0\]\): its network.pt holds one network per time window"
                       ) as info:
        _fit(problem, FullyConnected([2, 4, 1]), init_from=tmp_path / "run")
    assert "resume=<its folder>" in str(info.value) and "init_from=None" in str(info.value)
    with pytest.raises(ConfigurationError, match=r"is a time window of a time-marching run"):
        _fit(problem, FullyConnected([2, 4, 1]), init_from=tmp_path / "run" / "windows" / "01")


@pytest.mark.usefixtures("keep_root_logging")
def test_the_command_line_starts_a_new_run_from_a_finished_one(
    cli_run: Path, cli: Any, tiny: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = torch.load(cli_run / "network.pt", weights_only=True)
    more = [o for o in tiny if not o.startswith("trainer.max_steps")]
    assert cli(tmp_path / "warm", *more, "trainer.max_steps=3", "problem.n_interior=64",
               "optimizer=lbfgs", f"init_from={cli_run}") == 0
    log = (tmp_path / "warm" / "train.log").read_text()
    assert f"initialised from {cli_run / 'network.pt'}" in log
    metrics = json.loads((tmp_path / "warm" / "metrics.json").read_text())
    assert metrics["steps"] == 3
    warm = torch.load(tmp_path / "warm" / "network.pt", weights_only=True)
    assert warm.keys() == saved.keys() and not torch.equal(warm["linears.0.weight"],
                                                          saved["linears.0.weight"])
    wider = [o for o in tiny if not o.startswith("net.hidden")]
    with pytest.raises(SystemExit) as info:
        cli(tmp_path / "wider", *wider, "net.hidden=[6]", f"init_from={cli_run}")
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "[4, 2] in" in err and "[6, 2] in this network" in err
    assert "deepinn train init_from=null" in err
