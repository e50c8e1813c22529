"""Time marching (marching.windows, marching.time): windows, continuity, the composite, refusals."""

from __future__ import annotations

import json
import math
import os
import signal

import lightning.pytorch as pl
import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError
from deepinn._errors import spoken_as
from deepinn.constraints import (
    AbstractConstraint,
    DataConstraint,
    DirichletBC,
    InitialCondition,
    NeumannBC,
    PDEConstraint,
)
from deepinn.nn import FullyConnected
from deepinn.problems._spacetime import interval_end, space_time
from deepinn.training import (
    MarchingConfig,
    RunConfig,
    TimeMarchingNetwork,
    WindowNetwork,
    fit,
)
from deepinn.training.marching._marching import window_edges, window_problem
from deepinn.training.service._signals import RunInterruptedError
from deepinn.training.settings._presets import adam_lbfgs
from deepinn.training.toolbox._causal import CausalConfig, CausalWeighting

BOX = space_time(0.0, 1.0, 2.0)  # columns (x, t), t in [0, 2]
ALPHA = 0.1


class Formula(torch.nn.Module):
    def __init__(self, function, in_dim: int = 2):
        super().__init__()
        self.function = function
        self.in_dim, self.out_dim = in_dim, 1
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        return self.function(x) + 0 * self.dummy


def heat_exact(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(math.pi * x[:, :1]) * torch.exp(-ALPHA * math.pi**2 * x[:, 1:2])


def _heat_residual(field):
    return field.partial("u", "t") - ALPHA * field.partial("u", "x", "x")


def _sampler(domain, n, seed=0):
    return dp.samplers.RandomUniformSampler(domain, n, seed=seed)


def heat(rate: bool = False, extra: list | None = None, **problem_options) -> dp.Problem:
    constraints = [
        PDEConstraint("pde", _sampler(BOX.domain, 200), _heat_residual, second_order=("x",)),
        DirichletBC("boundary", _sampler(BOX.lateral, 40, 1), lambda x: 0 * x[:, :1]),
        InitialCondition(
            "initial", _sampler(BOX.space_interval, 40, 2), BOX.domain.space, heat_exact,
            rate=(lambda x: -ALPHA * math.pi**2 * heat_exact(x)) if rate else None,
        ),
        *(extra or []),
    ]
    return dp.Problem("heat", BOX.domain, constraints, exact=heat_exact, **problem_options)


def _batch(problem, name):
    constraint = next(c for c in problem.constraints if c.name == name)
    return constraint.sample(torch.Generator().manual_seed(0))


EDGES = window_edges(0.0, 2.0, 4)  # [0, 0.5, 1, 1.5, 2]


def test_edges_split_the_range_evenly() -> None:
    assert EDGES == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_a_window_draws_its_points_inside_it_with_the_space_columns_untouched() -> None:
    problem = heat()
    piece = window_problem(problem, "t", EDGES, 2, Formula(heat_exact), 100)
    whole, moved = _batch(problem, "pde")["x"], _batch(piece, "pde")["x"]
    assert torch.equal(whole[:, 0], moved[:, 0])
    assert float(moved[:, 1].min()) >= 1.0 and float(moved[:, 1].max()) <= 1.5
    assert torch.allclose(moved[:, 1], 1.0 + whole[:, 1] / 4)
    boundary = _batch(piece, "boundary")["x"]
    assert float(boundary[:, 1].min()) >= 1.0 and float(boundary[:, 1].max()) <= 1.5
    assert set(boundary[:, 0].tolist()) <= {0.0, 1.0}


def test_later_windows_start_from_the_previous_window_value_and_rate() -> None:
    previous = Formula(lambda x: x[:, :1] * x[:, 1:2] ** 2)  # u = x t^2, du/dt = 2 x t
    piece = window_problem(heat(rate=True), "t", EDGES, 3, previous, 100)
    batch = _batch(piece, "initial")
    x, t = batch["x"][:, :1], batch["x"][:, 1:2]
    assert torch.all(t == 1.5)
    assert torch.allclose(batch["target"], x * 2.25, atol=1e-6)
    assert torch.allclose(batch["rate"], 2 * x * 1.5, atol=1e-5)
    first = window_problem(heat(rate=True), "t", EDGES, 0, None, 100)
    start = _batch(first, "initial")
    assert torch.allclose(start["target"], heat_exact(start["x"]))


def test_a_dirichlet_condition_on_the_initial_face_continues_too() -> None:
    face = BOX.space_interval * interval_end(BOX.time_interval, "lower")
    start = DirichletBC("start", _sampler(face, 30, 3), heat_exact)
    problem = heat(extra=[start])
    piece = window_problem(problem, "t", EDGES, 1, Formula(lambda x: x[:, :1] + x[:, 1:2]), 10)
    batch = _batch(piece, "start")
    assert torch.all(batch["x"][:, 1] == 0.5)
    assert torch.allclose(batch["target"], batch["x"][:, :1] + 0.5)


def test_data_and_the_evaluation_set_are_cut_to_the_window() -> None:
    points = torch.tensor([[0.5, 0.1], [0.5, 0.7], [0.5, 2.0]])
    data = DataConstraint("data", BOX.domain.space, points, heat_exact(points))
    piece = window_problem(heat(extra=[data]), "t", EDGES, 3, Formula(heat_exact), 500)
    kept = next(c for c in piece.constraints if c.name == "data")
    assert kept.points.tolist() == [[0.5, 2.0]]  # the last window holds t = T1
    earlier = window_problem(heat(extra=[data]), "t", EDGES, 2, Formula(heat_exact), 500)
    assert "data" not in [c.name for c in earlier.constraints]
    evaluation, values = piece.evaluation_set()
    assert float(evaluation[:, 1].min()) >= 1.5 and values is not None
    assert torch.allclose(values, heat_exact(evaluation))


def test_the_window_network_sees_the_whole_time_range_and_its_derivatives_follow() -> None:
    torch.manual_seed(0)
    inner = FullyConnected([2, 16, 16, 1], activation="tanh").double()
    window = WindowNetwork(inner, 1, (1.0, 1.5), (0.0, 2.0))
    x = torch.rand(50, 2, dtype=torch.float64) * torch.tensor([1.0, 0.5]) + torch.tensor([0.0, 1.0])
    stretched = x.clone()
    stretched[:, 1] = (x[:, 1] - 1.0) * 4
    assert torch.allclose(window(x), inner(stretched))
    z = x.clone().requires_grad_(True)
    u = window(z)
    (du,) = torch.autograd.grad(u.sum(), z, create_graph=True)
    second = torch.stack(
        [torch.autograd.grad(du[:, i].sum(), z, retain_graph=True)[0][:, i] for i in range(2)], 1
    )
    value, gradient, diagonal = window.forward_derivatives(x)
    assert torch.allclose(value, u) and torch.allclose(gradient[:, 0], du)
    assert torch.allclose(diagonal[:, 0], second)
    _, _, laplacian = window.forward_laplacian(x)
    assert torch.allclose(laplacian[:, 0], second.sum(1))
    _, _, in_x = window.forward_laplacian(x, (True, False))
    assert torch.allclose(in_x[:, 0], second[:, 0])


def test_a_network_without_the_forward_protocol_is_wrapped_without_it() -> None:
    window = WindowNetwork(Formula(heat_exact), 1, (0.0, 1.0), (0.0, 2.0))
    assert not hasattr(window, "forward_derivatives")


def test_the_composite_sends_each_point_to_its_window() -> None:
    windows = [Formula(lambda x, k=k: torch.full_like(x[:, :1], float(k))) for k in range(4)]
    composite = TimeMarchingNetwork(windows, 1, EDGES)
    t = torch.tensor([-1.0, 0.0, 0.49, 0.5, 1.2, 1.5, 1.99, 2.0, 3.0], dtype=torch.float64)
    x = torch.stack([torch.zeros_like(t), t], 1)
    assert composite(x)[:, 0].tolist() == [0, 0, 0, 1, 2, 3, 3, 3, 3]


def test_causal_chunks_cover_the_window_not_the_whole_range() -> None:
    piece = window_problem(heat(), "t", EDGES, 1, Formula(heat_exact), 10)
    causal = CausalWeighting(CausalConfig(tol=1.0, chunks=4), piece.constraints)
    assert causal.columns["pde"] == (1, 0.5, 1.0)


@pytest.mark.parametrize("windows", [0, -2, 1.5, True, "3"])
def test_a_bad_number_of_windows_is_refused(windows) -> None:
    with pytest.raises(ConfigurationError, match=r"marching\.windows"):
        RunConfig(marching={"windows": windows})


def _refusal(problem, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        fit(problem, FullyConnected([2, 4, 1]), max_steps=1, marching={"windows": 2}, logger=False)


def test_a_problem_without_the_time_coordinate_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"marching\.time"):
        fit(heat(), FullyConnected([2, 4, 1]), max_steps=1,
            marching={"windows": 2, "time": "tau"}, logger=False)


def test_an_output_transform_or_learnt_coefficients_are_refused() -> None:
    _refusal(heat(output_transform=lambda x, raw: raw), "output_transform")
    _refusal(heat(parameters={"k": torch.nn.Parameter(torch.ones(1))}), "coefficients")


class Custom(AbstractConstraint):
    def sample(self, generator):
        return {"x": torch.zeros(1, 2)}

    def residual(self, field, batch):
        return field["u"]


def test_constraints_a_window_cannot_hold_are_refused_by_name() -> None:
    _refusal(heat(extra=[Custom("mine", BOX.domain.space)]), "'mine' \\(Custom\\)")
    end = BOX.space_interval * interval_end(BOX.time_interval, "upper")
    _refusal(heat(extra=[DirichletBC("final", _sampler(end, 5), heat_exact)]), "'final'.*covers")
    start = BOX.space_interval * interval_end(BOX.time_interval, "lower")
    _refusal(heat(extra=[NeumannBC("flux", _sampler(start, 5), heat_exact)]), "'flux'.*derivative")


def test_conditions_on_the_whole_space_time_boundary_or_part_of_the_time_are_refused() -> None:
    whole = DirichletBC("edges", _sampler(BOX.domain.boundary, 80, 4), heat_exact)
    _refusal(heat(extra=[whole]), "'edges'.*face t = 0.0")
    early = PDEConstraint(
        "early", dp.samplers.RandomUniformSampler(
            BOX.domain, 50, seed=5, filter_fn=lambda x: x[:, 1] < 0.5
        ),
        _heat_residual, second_order=("x",),
    )
    _refusal(heat(extra=[early]), "'early'.*draws times in")


def test_the_first_and_last_windows_answer_for_times_outside_the_range() -> None:
    points = torch.tensor([[0.5, -0.5], [0.5, 2.5]])
    data = DataConstraint("data", BOX.domain.space, points, heat_exact(points))
    first = window_problem(heat(extra=[data]), "t", EDGES, 0, None, 10)
    last = window_problem(heat(extra=[data]), "t", EDGES, 3, Formula(heat_exact), 10)
    for piece, kept in ((first, [[0.5, -0.5]]), (last, [[0.5, 2.5]])):
        assert next(c for c in piece.constraints if c.name == "data").points.tolist() == kept


def test_the_composite_runs_windows_of_different_dtypes() -> None:
    windows = [FullyConnected([2, 4, 1]).double(), FullyConnected([2, 4, 1])]
    x = torch.tensor([[0.5, 0.2], [0.5, 1.7]], dtype=torch.float64)
    out = TimeMarchingNetwork(windows, 1, [0.0, 1.0, 2.0])(x)
    assert out.dtype == torch.float64
    with torch.no_grad():
        assert torch.allclose(out[1:], windows[1](x[1:].float()).double())


def test_resume_needs_a_marching_run_folder(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match=r"marching\.json"):
        fit(heat(), FullyConnected([2, 4, 1]), max_steps=1, marching={"windows": 2},
            resume=str(tmp_path), logger=False)


def _run(tmp_path, name: str, callbacks=(), field_mode: str = "reverse", **knobs):
    """A two-window heat run (``field_mode=reverse`` by default: auto's timed probe may pick
    another path in another run)."""
    torch.manual_seed(0)
    network = FullyConnected([2, 20, 20, 1], activation="tanh", bounds=BOX.domain.bounding_box())
    return fit(
        heat(), network, phases=adam_lbfgs(adam_steps=50), max_steps=150, dtype=torch.float64,
        marching={"windows": 2}, run_dir=tmp_path / name, logger=False, eval_points=400,
        field_mode=field_mode,
        trainer_options={"enable_progress_bar": False, "callbacks": list(callbacks)}, **knobs,
    )


@pytest.fixture(scope="module")
def marched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("marching")
    return folder, _run(folder, "run")


def test_a_marching_run_trains_every_window_and_measures_the_whole(marched) -> None:
    folder, result = marched
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert [w["window"] for w in metrics["windows"]] == [0, 1]
    assert metrics["steps"] == 300 and metrics["rel_l2"] == pytest.approx(result.metrics["rel_l2"])
    assert metrics["rel_l2"] < 0.1
    for k in range(2):
        assert (folder / "run" / "windows" / f"{k:02d}" / "network.pt").is_file()
    composite = result.network
    assert isinstance(composite, TimeMarchingNetwork) and len(composite.windows) == 2
    x = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    with torch.no_grad():
        left = composite.windows[0](torch.stack([x, torch.full_like(x, 1.0)], 1))
        right = composite.windows[1](torch.stack([x, torch.full_like(x, 1.0)], 1))
    scale = float(heat_exact(torch.tensor([[0.5, 1.0]])).abs())
    assert float((left - right).abs().max()) < 0.1 * scale  # continuous across the edge


class StopInWindow(pl.Callback):
    """Sends SIGTERM to this process at ``step`` of window ``window``'s fit (the second's)."""

    def __init__(self, step: int, window: int = 1) -> None:
        self.step, self.window, self.fits = step, window, 0

    def on_fit_start(self, trainer, pl_module) -> None:
        self.fits += 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.fits == self.window + 1 and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)  # handled here, between two steps


@pytest.mark.filterwarnings("ignore:The dirpath has changed")  # resumed into a new folder
def test_a_run_stopped_in_a_window_resumes_to_where_the_uninterrupted_one_ended(
    marched, tmp_path
) -> None:
    _, result = marched
    stopped = tmp_path / "stopped"
    match = f"time window 1 of 2.*resume='{stopped}'"
    with pytest.raises(RunInterruptedError, match=match) as info:
        _run(tmp_path, "stopped", callbacks=[StopInWindow(30)])
    with spoken_as("cli"):
        assert f"resume with: deepinn train resume={stopped}" in str(info.value)
    assert info.value.metrics["stop_reason"].startswith("time window 1: SIGTERM at step")
    assert json.loads((stopped / "metrics.json").read_text())["windows"][1]["steps"] < 150
    assert not (stopped / "windows" / "01" / "network.pt").exists()
    resumed = _run(tmp_path, "resumed", resume=str(stopped))
    assert resumed.metrics["windows"][0]["resumed"].endswith("network.pt")
    assert resumed.metrics["windows"][1]["steps"] == 150
    assert resumed.metrics["steps"] == 300  # the loaded window's steps counted
    assert resumed.metrics["rel_l2"] == pytest.approx(result.metrics["rel_l2"], rel=1e-9)
    assert (tmp_path / "resumed" / "windows" / "00" / "network.pt").is_file()
    again = _run(tmp_path, "again", resume=str(tmp_path / "resumed"))  # nothing left to train
    assert again.trainer is None
    assert again.metrics["rel_l2"] == pytest.approx(result.metrics["rel_l2"], rel=1e-9)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The dirpath has changed")  # resumed into a new folder
def test_a_run_resumed_mid_window_is_bit_identical_under_field_mode_auto(
    tmp_path, monkeypatch
) -> None:
    """field_mode=auto times the derivative paths once, in the first window; the later windows
    take that choice, so a run stopped and resumed computes what the uninterrupted one does
    even where a fresh probe would choose another path (here, every probe after the first)."""
    import deepinn.training.step._loss as loss_module

    real = loss_module.probe_group
    probes: list[str] = []

    def probe(*args, **kwargs):
        timed = real(*args, **kwargs)
        if timed is None:
            return None
        probes.append("reverse" if not probes else "lanes")  # the timing differs every time
        return probes[-1], timed[1]

    monkeypatch.setattr(loss_module, "probe_group", probe)
    whole = _run(tmp_path, "whole", field_mode="auto")
    assert probes == ["reverse"]  # timed in window 0 only
    probes.clear()
    with pytest.raises(RunInterruptedError, match="time window 0 of 2"):
        _run(tmp_path, "stopped", callbacks=[StopInWindow(30, window=0)], field_mode="auto")
    resumed = _run(tmp_path, "resumed", field_mode="auto", resume=str(tmp_path / "stopped"))
    assert probes == ["reverse"]  # the resumed window 0 and window 1 take the checkpoint's
    expected, got = whole.network.state_dict(), resumed.network.state_dict()
    assert all(torch.equal(expected[key], got[key]) for key in expected)
    assert resumed.metrics["rel_l2"] == whole.metrics["rel_l2"]
    stopped_in_1 = tmp_path / "stopped_in_1"
    probes.clear()
    with pytest.raises(RunInterruptedError, match="time window 1 of 2"):
        _run(tmp_path, stopped_in_1.name, callbacks=[StopInWindow(80)], field_mode="auto")
    again = _run(tmp_path, "again", field_mode="auto", resume=str(stopped_in_1))
    assert probes == ["reverse"]
    assert again.metrics["rel_l2"] == whole.metrics["rel_l2"]


def test_a_window_stopped_before_its_first_checkpoint_trains_again_in_place(
    marched, tmp_path
) -> None:
    import shutil

    folder, result = marched
    run = tmp_path / "run"
    shutil.copytree(folder / "run", run)
    (run / "windows" / "01" / "network.pt").unlink()
    shutil.rmtree(run / "windows" / "01" / "checkpoints")
    resumed = _run(tmp_path, "run", resume=str(run))  # into the same folder
    assert (run / "windows" / "01-unfinished" / "metrics.json").is_file()  # kept, not deleted
    assert (run / "windows" / "01" / "network.pt").is_file()
    assert resumed.metrics["rel_l2"] == pytest.approx(result.metrics["rel_l2"], rel=1e-9)


def test_a_resume_with_other_windows_is_refused(marched, tmp_path) -> None:
    folder, _ = marched
    with pytest.raises(ConfigurationError, match=r"2 windows of 't'.*this one in 3"):
        fit(heat(), FullyConnected([2, 4, 1]), max_steps=1, marching={"windows": 3},
            resume=str(folder / "run"), logger=False)


def test_the_marching_config_is_off_by_default() -> None:
    assert not RunConfig().marching.enabled and MarchingConfig(windows=3).enabled



# Time marching with the rest of the toolbox on: adaptive points, grad-norm weights, causal chunks.
MARCHING_CLI = [
    "problem=heat", "problem.n_interior=64", "problem.n_boundary=16", "problem.n_initial=16",
    "net.hidden=[8,8]", "optimizer=adam", "optimizer.lr=0.01", "dtype=float64", "seed=3",
    "marching.windows=2", "trainer.max_steps=6", "eval_points=200", "field_mode=forward",
    "trainer.enable_progress_bar=false", "causal.tol=1.0", "causal.chunks=2",
    "sampler=adaptive", "resample_every=3", "weighting.name=grad_norm", "weighting.every=2",
]


def _cli(folder, *extra: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    train = str(Path(__file__).resolve().parents[2] / "train.py")
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, train, *MARCHING_CLI, *extra, f"hydra.run.dir={folder}"],
        cwd=folder.parent, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return json.loads((folder / "metrics.json").read_text())


@pytest.fixture(scope="module")
def eager_marching(tmp_path_factory):
    return _cli(tmp_path_factory.mktemp("eager") / "run")


def _same_run(one: dict, other: dict) -> None:
    assert other["steps"] == one["steps"] == 12
    assert other["rel_l2"] == pytest.approx(one["rel_l2"], rel=1e-6)
    for mine, theirs in zip(one["windows"], other["windows"], strict=True):
        assert theirs["final_loss"] == pytest.approx(mine["final_loss"], rel=1e-6)


@pytest.mark.slow
@pytest.mark.ddp
def test_ddp_marching_matches_one_process(eager_marching, tmp_path) -> None:
    ddp = _cli(tmp_path / "ddp", "trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu")
    _same_run(eager_marching, ddp)


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_compiled_marching_compiles_each_window_whole_loss_and_trains_alike(
    eager_marching, tmp_path
) -> None:
    compiled = _cli(tmp_path / "compiled", "compile=true")
    log = (tmp_path / "compiled" / "train.log").read_text()
    if "is not available here" in log:
        pytest.skip("torch.compile is not available on this machine")
    assert log.count("the whole loss (forward lanes, residuals, reductions) is compiled") == 2
    _same_run(eager_marching, compiled)
