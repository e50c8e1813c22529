"""A finished run as an object: ``deepinn.load`` of Python, command-line and time-marching runs,
predictions at the user's points, residuals, errors, refusals, and the predict / evaluate /
export commands."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError, ShapeError
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.nn import FullyConnected
from deepinn.training import fit

SQUARE = dp.domains.Parallelogram(dp.spaces.R1("x") * dp.spaces.R1("y"), [0, 0], [1, 0], [0, 1])


def _exact(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:2])


def _source(x: torch.Tensor) -> torch.Tensor:
    return 2 * math.pi**2 * _exact(x)


def poisson() -> dp.Problem:
    """-(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on the unit square, u = 0 on its boundary."""
    sampler = dp.samplers.RandomUniformSampler
    constraints = [
        PDEConstraint("pde", sampler(SQUARE, 64), lambda f: -f.laplacian("u"), source=_source),
        DirichletBC("boundary", sampler(SQUARE.boundary, 32, seed=1), lambda x: 0 * x[:, :1]),
    ]
    return dp.Problem("square_poisson", SQUARE, constraints, exact=_exact)


def network() -> FullyConnected:
    torch.manual_seed(0)
    return FullyConnected([2, 8, 1], "tanh")


@pytest.fixture(scope="module")
def python_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("python") / "run"
    fit(poisson(), network(), max_steps=20, run_dir=run_dir, logger=False, dtype=torch.float64,
        eval_points=200, threads=1, trainer_options={"enable_progress_bar": False})
    return run_dir


pytestmark = pytest.mark.usefixtures("keep_root_logging")  # Hydra's job sets up train.log


# ------------------------------------------------------------------ the run folder
def test_a_finished_run_keeps_its_network_and_a_record(python_run: Path) -> None:
    record = json.loads((python_run / "run.json").read_text())
    state = torch.load(python_run / "network.pt", weights_only=True)
    assert record["format"] == 1 and record["api"] == "python" and record["dtype"] == "float64"
    assert record["problem"]["coordinates"] == ["x", "y"] and record["problem"]["outputs"] == ["u"]
    assert record["network"]["parameters"] == {k: list(v.shape) for k, v in state.items()}
    assert record["description"]["problem"]["name"] == "square_poisson"


def test_a_configured_run_records_its_network_registration(cli_run: Path) -> None:
    record = json.loads((cli_run / "run.json").read_text())
    assert (record["api"], record["network"]["name"]) == ("cli", "mlp")
    assert record["network"]["params"]["hidden"] == [4]


# ------------------------------------------------------------------ load
def test_a_python_run_reloads_and_predicts_its_predictions_to_the_last_bit(
    python_run: Path,
) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    stored = np.load(python_run / "predictions.npz")
    prediction = run.predict(stored["points"])
    assert prediction.dtype == np.float64 and not run.network.training
    np.testing.assert_array_equal(prediction, stored["prediction"])


def test_a_command_line_run_reloads_from_its_configuration(cli_run: Path) -> None:
    run = dp.load(cli_run)
    stored = np.load(cli_run / "predictions.npz")
    np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])
    assert run.problem.name == "poisson" and run.config is not None
    assert run.config["net"]["hidden"] == [4] and run.metrics["steps"] == 10
    assert run.error()["rel_l2"] == pytest.approx(run.metrics["rel_l2"], rel=1e-12)


def test_the_last_checkpoint_is_the_final_network_of_a_finished_run(cli_run: Path) -> None:
    x = torch.rand(50, 2, dtype=torch.float64)
    final, last = dp.load(cli_run).predict(x), dp.load(cli_run, checkpoint="last").predict(x)
    torch.testing.assert_close(last, final, rtol=0, atol=0)


def test_a_run_without_its_record_loads_from_its_checkpoints(
    cli_run: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(cli_run, copy)
    (copy / "run.json").unlink()
    (copy / "network.pt").unlink()
    with pytest.raises(ConfigurationError, match=r"no run.json.*checkpoint='last' or 'best'"):
        dp.load(copy)
    x = torch.rand(50, 2, dtype=torch.float64)
    torch.testing.assert_close(dp.load(copy, checkpoint="last").predict(x),
                               dp.load(cli_run).predict(x), rtol=0, atol=0)


def test_predict_takes_a_dict_of_coordinates_and_names_the_outputs(python_run: Path) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    x = np.random.default_rng(0).random((40, 2))
    by_name = run.predict({"y": x[:, 1], "x": x[:, 0]})
    assert list(by_name) == ["u"]
    np.testing.assert_array_equal(by_name["u"], run.predict(x)[:, 0])


def test_predict_on_a_grid_gives_outputs_shaped_like_the_grid(python_run: Path) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    x, y = np.linspace(0, 1, 5), np.linspace(0, 1, 3)
    u = run.predict({"y": y, "x": x}, grid=True)["u"]
    assert u.shape == (5, 3)
    mesh = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
    np.testing.assert_array_equal(u.reshape(-1), run.predict(mesh)[:, 0])


def test_predict_batches_give_the_same_values(python_run: Path) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    x = torch.rand(1000, 2, dtype=torch.float64)
    torch.testing.assert_close(run.predict(x, batch_size=7), run.predict(x), rtol=0, atol=1e-15)


def test_residuals_are_the_pde_residual_at_the_points(python_run: Path) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    x = torch.rand(30, 2, dtype=torch.float64, requires_grad=True)
    u = run.network(x)
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    u_xx = torch.autograd.grad(du[:, 0].sum(), x, retain_graph=True)[0][:, 0]
    u_yy = torch.autograd.grad(du[:, 1].sum(), x)[0][:, 1]
    manual = (-(u_xx + u_yy)).unsqueeze(1) - _source(x.detach())
    residuals = run.residuals(x.detach())
    assert list(residuals) == ["pde"]
    torch.testing.assert_close(residuals["pde"], manual.detach(), rtol=1e-12, atol=1e-12)


def test_derivatives_at_the_points_are_those_of_autograd(python_run: Path) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    x = torch.rand(30, 2, dtype=torch.float64, requires_grad=True)
    (du,) = torch.autograd.grad(run.network(x).sum(), x, create_graph=True)
    u_xy = torch.autograd.grad(du[:, 0].sum(), x)[0][:, 1]
    points = x.detach().numpy()
    np.testing.assert_allclose(run.derivative(points, "u", "x"), du[:, 0].detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(run.derivative(x.detach(), "u", "x", "y"), u_xy,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(run.derivative(points, "u"), run.predict(points)[:, 0])
    with pytest.raises(ConfigurationError, match=r"has no coordinate\(s\) \['z'\]"):
        run.derivative(points, "u", "z")


def test_no_points_give_empty_residuals_and_derivatives(python_run: Path) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    empty = torch.zeros(0, 2, dtype=torch.float64)
    assert run.residuals(empty)["pde"].shape == (0, 1)
    assert run.derivative(empty, "u", "x").shape == (0,)
    assert run.predict(empty).shape == (0, 1)


# ------------------------------------------------------------------ refusals
def test_a_python_run_without_its_problem_is_refused_naming_the_fix(python_run: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"started from Python.*problem=my_problem"):
        dp.load(python_run)


def test_another_problem_or_network_is_refused_naming_both(python_run: Path) -> None:
    other = dp.Problem("other", SQUARE, poisson().constraints, exact=_exact)
    with pytest.raises(ConfigurationError, match=r"name 'square_poisson' in the run, 'other'"):
        dp.load(python_run, problem=other, network=network())
    fits = r"linears.0.weight: \[8, 2\] in the run, \[4, 2\]"
    with pytest.raises(ConfigurationError, match=fits):
        dp.load(python_run, problem=poisson(), network=FullyConnected([2, 4, 1]))


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"not a deepinn run folder \(no run.json"):
        dp.load(tmp_path)
    with pytest.raises(ConfigurationError, match=r"no such folder"):
        dp.load(tmp_path / "missing")


def test_a_truncated_network_file_is_refused(python_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(python_run, copy)
    data = (copy / "network.pt").read_bytes()
    (copy / "network.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigurationError, match=r"network.pt.*does not match the checksum"):
        dp.load(copy, problem=poisson(), network=network())
    record = json.loads((copy / "run.json").read_text())
    del record["sha256"]
    (copy / "run.json").write_text(json.dumps(record))
    with pytest.raises(ConfigurationError, match=r"network.pt.*truncated or corrupt"):
        dp.load(copy, problem=poisson(), network=network())


def test_a_newer_format_is_refused_naming_the_upgrade(python_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(python_run, copy)
    record = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**record, "format": 99}))
    with pytest.raises(ConfigurationError, match=r"run format 99.*pip install -U deepinn"):
        dp.load(copy, problem=poisson(), network=network())


def test_points_of_the_wrong_shape_or_a_missing_coordinate_are_refused(python_run: Path) -> None:
    run = dp.load(python_run, problem=poisson(), network=network())
    with pytest.raises(ShapeError, match=r"\(5, 3\); give \(N, 2\)"):
        run.predict(np.zeros((5, 3)))
    with pytest.raises(ShapeError, match=r"no values for coordinate\(s\) \['y'\]"):
        run.predict({"x": np.zeros(5)})


def test_a_missing_plugin_is_named(cli_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(cli_run, copy)
    config = copy / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace("name: poisson", "name: plugged_poisson"))
    with pytest.raises(ConfigurationError, match=r"problem=plugged_poisson.*Install \(or enable\)"):
        dp.load(copy)


# ------------------------------------------------------------------ kinds of runs
def _cli(run_dir: Path, *overrides: str) -> Path:
    from deepinn.app import train

    assert train([*overrides, "threads=1", "logger=none", "trainer.enable_progress_bar=false",
                  f"hydra.run.dir={run_dir}"]) == 0
    return run_dir


YAML_INVERSE = ["+experiment=yaml_inverse", "problem.constraints.pde.n=32",
                "problem.constraints.wall.n=8", "net.hidden=[4]", "optimizer.adam_steps=3",
                "trainer.max_steps=5", "eval_points=50", "monitor.val_every=5"]


def test_a_yaml_inverse_problem_reloads_with_its_learned_coefficient(tmp_path: Path) -> None:
    run = dp.load(_cli(tmp_path / "run", *YAML_INVERSE))
    k = run.coefficients["k"]
    assert float(k) == run.metrics["coefficients"]["k"] and float(k) != 1.0
    stored = np.load(tmp_path / "run" / "predictions.npz")
    np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])
    x = torch.rand(20, 2, dtype=torch.float64, requires_grad=True)
    u = run.network(x)
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    laplacian = sum(torch.autograd.grad(du[:, i].sum(), x, retain_graph=True)[0][:, i]
                    for i in range(2))
    source = 2.0 * torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])
    manual = -k * laplacian / (2 * math.pi**2) - source
    torch.testing.assert_close(run.residuals(x.detach())["pde"][:, 0], manual.detach(),
                               rtol=1e-10, atol=1e-12)


HEAT_TRANSFORM = [
    "problem=custom", "domain=interval", "domain.lower=0.0", "domain.upper=1.0",
    "problem.coordinates=[x,t]", "problem.time=[0.0,1.0]", "dtype=float64",
    "+problem.constraints={pde: {kind: pde, n: 32, residual: 'u_t - u_xx/pi**2'}}",
    "problem.exact='exp(-t) * sin(pi*x)'",
    "problem.output_transform='sin(pi*x) + t*x*(1 - x)*u'",
    "net.hidden=[4]", "optimizer=adam", "trainer.max_steps=5", "eval_points=50",
]


def test_a_run_with_an_output_transform_predicts_the_transformed_solution(tmp_path: Path) -> None:
    run = dp.load(_cli(tmp_path / "run", *HEAT_TRANSFORM))
    assert json.loads((tmp_path / "run" / "run.json").read_text())["network"]["output_transform"]
    stored = np.load(tmp_path / "run" / "predictions.npz")
    np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])
    s = np.linspace(0.0, 1.0, 11)
    start = run.predict({"x": s, "t": np.zeros_like(s)})["u"]
    np.testing.assert_allclose(start, np.sin(np.pi * s), rtol=0, atol=1e-14)


def test_a_time_marching_run_reloads_as_its_composite_network(tmp_path: Path) -> None:
    box = dp.problems._spacetime.space_time(0.0, 1.0, 1.0)

    def problem() -> dp.Problem:
        sampler = dp.samplers.RandomUniformSampler
        constraints = [
            PDEConstraint("pde", sampler(box.domain, 32),
                          lambda f: f.partial("u", "t") - 0.1 * f.partial("u", "x", "x")),
            dp.constraints.InitialCondition(
                "initial", sampler(box.space_interval, 16, seed=2), box.domain.space,
                lambda x: torch.sin(math.pi * x[:, :1])),
        ]
        return dp.Problem("marched_heat", box.domain, constraints,
                          exact=lambda x: torch.sin(math.pi * x[:, :1]) * torch.exp(-x[:, 1:2]))

    torch.manual_seed(0)
    fit(problem(), FullyConnected([2, 4, 1]), max_steps=3, run_dir=tmp_path / "run", logger=False,
        dtype=torch.float64, eval_points=60, marching={"windows": 2}, threads=1,
        trainer_options={"enable_progress_bar": False})
    run = dp.load(tmp_path / "run", problem=problem(), network=FullyConnected([2, 4, 1]))
    assert type(run.network).__name__ == "TimeMarchingNetwork" and len(run.network.windows) == 2
    stored = np.load(tmp_path / "run" / "predictions.npz")
    np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])


# ------------------------------------------------------------------ the commands
def test_the_predict_command_round_trips_a_csv_and_an_npz_file(
    cli_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepinn.__main__ import main

    x = np.random.default_rng(1).random((25, 2))
    (tmp_path / "points.csv").write_text(
        "x0,x1\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in x) + "\n"
    )
    expected = dp.load(cli_run).predict(x)[:, 0]
    assert main(["predict", str(cli_run), "--points", str(tmp_path / "points.csv"),
                 "--out", str(tmp_path / "out.csv")]) == 0
    header = (tmp_path / "out.csv").read_text().splitlines()[0]
    table = np.loadtxt(tmp_path / "out.csv", delimiter=",", skiprows=1)
    assert header == "x0,x1,u"
    np.testing.assert_array_equal(table[:, :2], x)
    np.testing.assert_array_equal(table[:, 2], expected)
    np.savez(tmp_path / "points.npz", points=x)
    assert main(["predict", str(cli_run), "--points", str(tmp_path / "points.npz"),
                 "--out", str(tmp_path / "out.npz")]) == 0
    with np.load(tmp_path / "out.npz") as out:
        assert sorted(out.files) == ["u", "x0", "x1"]
        np.testing.assert_array_equal(out["u"], expected)
    assert "25 points" in capsys.readouterr().out


def test_the_evaluate_command_prints_the_error_again(
    cli_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepinn.__main__ import main

    assert main(["evaluate", str(cli_run), "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    recorded = json.loads((cli_run / "metrics.json").read_text())["rel_l2"]
    assert f"rel_l2          {recorded:>12.3e}{recorded:>12.3e}" in out
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "residual_pde.png", "solution_u.png"]
    assert main(["evaluate", str(cli_run), "--no-plots"]) == 0
    assert not (cli_run / "evaluation").exists()
    assert main(["evaluate", str(cli_run)]) == 0  # figures by default in the run folder
    assert sorted(p.name for p in (cli_run / "evaluation").iterdir()) == [
        "residual_pde.png", "solution_u.png"]


def test_a_command_on_a_folder_that_is_not_a_run_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepinn.__main__ import main

    assert main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("deepinn evaluate: error: ") and err.count("\n") == 1


def test_the_exported_torchscript_runs_without_deepinn(cli_run: Path, tmp_path: Path) -> None:
    from deepinn.__main__ import main

    model = tmp_path / "model.pt"
    assert main(["export", str(cli_run), "--out", str(model)]) == 0
    x = torch.rand(33, 2, dtype=torch.float64)
    torch.save(x, tmp_path / "x.pt")
    script = (
        "import sys; sys.modules['deepinn'] = None\n"  # any import of deepinn fails
        "import torch\n"
        f"m = torch.jit.load({str(model)!r})\n"
        f"y = m(torch.load({str(tmp_path / 'x.pt')!r}))\n"
        f"torch.save(y, {str(tmp_path / 'y.pt')!r})\n"
    )
    subprocess.run([sys.executable, "-I", "-c", script], check=True, cwd=tmp_path, timeout=120)
    y = torch.load(tmp_path / "y.pt", weights_only=True)
    torch.testing.assert_close(y, dp.load(cli_run).predict(x), rtol=0, atol=1e-14)


PLUGIN = ["problem=poisson_annulus", "domain=annulus", "sampler=jittered_grid",
          "net=example_resmlp", "net.width=4", "net.blocks=1", "problem.n_interior=32",
          "problem.n_boundary=8", "optimizer=adam", "trainer.max_steps=5", "eval_points=50",
          "dtype=float64"]


def test_a_plugin_run_reloads_and_names_the_plugin_when_it_is_gone(tmp_path: Path) -> None:
    pytest.importorskip("deepinn_example")
    from deepinn.plugins import load_registry

    run_dir = _cli(tmp_path / "run", *PLUGIN)
    run = dp.load(run_dir)
    assert type(run.network).__name__ == "ResMLP"
    stored = np.load(run_dir / "predictions.npz")
    np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])
    without = load_registry(strict=True, disabled=["example"])
    with pytest.raises(ConfigurationError, match=r"domain=annulus, which no installed plugin "
                                                 r"provides.*disabled.*example.*Install \(or"):
        dp.load(run_dir, registry=without)
