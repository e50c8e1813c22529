"""Export of a finished run: ONNX (run with onnxruntime), VTK fields (read back with meshio) on
a grid, a mesh and in time slices, a time-marching run's composite network, and the refusals."""

from __future__ import annotations

import importlib.util
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError
from deepinn.constraints import PDEConstraint
from deepinn.nn import FullyConnected
from deepinn.training import fit

pytestmark = pytest.mark.usefixtures("keep_root_logging")  # Hydra's job sets up train.log

BOX = dp.problems._spacetime.space_time(0.0, 1.0, 1.0)


def _heat_exact(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(math.pi * x[:, :1]) * torch.exp(-x[:, 1:2])


def heat() -> dp.Problem:
    """u_t = 0.1 u_xx on [0, 1] x [0, 1], u(x, 0) = sin(pi x)."""
    sampler = dp.samplers.RandomUniformSampler
    constraints = [
        PDEConstraint("pde", sampler(BOX.domain, 32),
                      lambda f: f.partial("u", "t") - 0.1 * f.partial("u", "x", "x")),
        dp.constraints.InitialCondition(
            "initial", sampler(BOX.space_interval, 16, seed=2), BOX.domain.space,
            lambda x: torch.sin(math.pi * x[:, :1])),
    ]
    return dp.Problem("marched_heat", BOX.domain, constraints, exact=_heat_exact)


@pytest.fixture(scope="module")
def marching_run(tmp_path_factory: pytest.TempPathFactory) -> dp.runs.TrainedRun:
    run_dir = tmp_path_factory.mktemp("marching") / "run"
    torch.manual_seed(0)
    fit(heat(), FullyConnected([2, 4, 1]), max_steps=3, run_dir=run_dir, logger=False,
        dtype=torch.float64, eval_points=60, marching={"windows": 2}, threads=1,
        trainer_options={"enable_progress_bar": False})
    return dp.load(run_dir, problem=heat(), network=FullyConnected([2, 4, 1]))


def _onnx_outputs(path: Path, x: np.ndarray) -> tuple[list[Any], list[np.ndarray]]:
    onnxruntime = pytest.importorskip("onnxruntime", reason="the export extra is not installed")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.get_outputs(), session.run(None, {"points": x})


# ------------------------------------------------------------------ ONNX
@pytest.mark.slow
def test_the_onnx_export_runs_with_onnxruntime_at_any_number_of_points(
    cli_run: Path, tmp_path: Path
) -> None:
    pytest.importorskip("onnxscript", reason="the export extra is not installed")
    from deepinn.__main__ import main

    model = tmp_path / "model.onnx"
    assert main(["export", str(cli_run), "--format", "onnx", "--out", str(model)]) == 0
    run = dp.load(cli_run)
    for n in (1, 333):
        x = np.random.default_rng(n).random((n, 2))
        outputs, (u,) = _onnx_outputs(model, x)
        assert [o.name for o in outputs] == ["u"] and u.shape == (n,) and u.dtype == np.float64
        np.testing.assert_allclose(u, run.predict(x)[:, 0], rtol=0, atol=1e-13)
    import onnx

    metadata = {p.key: p.value for p in onnx.load(str(model)).metadata_props}
    assert metadata["coordinates"] == "x0,x1" and metadata["outputs"] == "u"


def test_a_missing_onnx_package_names_the_extra(
    cli_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnx" else find_spec(name, *a))
    with pytest.raises(ConfigurationError, match=r"needs the package\(s\) onnx, which are not "
                                                 r'installed.*pip install "deepinn\[export\]"'):
        dp.load(cli_run).export(tmp_path / "model.onnx", "onnx")


# ------------------------------------------------------------------ VTK
def test_the_vtk_export_of_a_grid_holds_the_prediction_exact_solution_and_error(
    cli_run: Path, tmp_path: Path
) -> None:
    meshio = pytest.importorskip("meshio", reason="the export extra is not installed")
    from deepinn.__main__ import main

    out = tmp_path / "poisson.vtu"
    assert main(["export", str(cli_run), "--format", "vtk", "--out", str(out),
                 "--grid", "x0=0:1:5", "--resolution", "4"]) == 0
    mesh = meshio.read(out)
    assert mesh.points.shape == (20, 3) and mesh.cells[0].type == "quad"
    assert len(mesh.cells[0].data) == 4 * 3
    points = torch.from_numpy(mesh.points[:, :2])
    run = dp.load(cli_run)
    data = mesh.point_data
    np.testing.assert_allclose(data["u"], run.predict(points)[:, 0].numpy(), rtol=0, atol=1e-15)
    exact = run.problem.exact(points)[:, 0].numpy()
    np.testing.assert_allclose(data["u_exact"], exact, rtol=0, atol=1e-15)
    np.testing.assert_allclose(data["u_error"], data["u"] - exact, rtol=0, atol=1e-15)
    assert np.all(data["inside"] == 1.0)
    assert sorted(np.unique(mesh.points[:, 0])) == pytest.approx(np.linspace(0, 1, 5))
    line = meshio.read(run.export(tmp_path / "slice.vtk", "vtk", grid={"x1": [0.5]},
                                  resolution=6))  # an axis of one point: a slice
    assert line.cells[0].type == "line" and len(line.cells[0].data) == 5
    np.testing.assert_allclose(line.points[:, 1], 0.5)


def test_a_time_dependent_run_exports_a_time_series_on_a_mesh(
    marching_run: dp.runs.TrainedRun, tmp_path: Path
) -> None:
    meshio = pytest.importorskip("meshio", reason="the export extra is not installed")
    s = np.linspace(0.0, 1.0, 7)
    line = meshio.Mesh(np.stack([s, np.zeros_like(s)], axis=1),
                       [("line", np.stack([np.arange(6), np.arange(1, 7)], axis=1))])
    line.write(tmp_path / "line.vtu")
    index = marching_run.export(tmp_path / "heat.vtu", "vtk", mesh=tmp_path / "line.vtu",
                                grid={"t": [0.0, 0.25, 0.75]})
    assert index == tmp_path / "heat.vtu.series"
    series = json.loads(index.read_text())["files"]
    assert [(f["name"], f["time"]) for f in series] == [
        ("heat_0000.vtu", 0.0), ("heat_0001.vtu", 0.25), ("heat_0002.vtu", 0.75)]
    for entry in series:
        mesh = meshio.read(tmp_path / entry["name"])
        x = torch.from_numpy(np.stack([s, np.full_like(s, entry["time"])], axis=1))
        assert mesh.cells[0].type == "line" and "inside" not in mesh.point_data
        np.testing.assert_allclose(mesh.point_data["u"], marching_run.predict(x)[:, 0].numpy(),
                                   rtol=0, atol=1e-15)
        np.testing.assert_allclose(mesh.point_data["u_exact"], _heat_exact(x)[:, 0].numpy(),
                                   rtol=0, atol=1e-15)


def test_vtk_refuses_another_suffix_and_other_formats_refuse_its_options(
    cli_run: Path, tmp_path: Path
) -> None:
    pytest.importorskip("meshio", reason="the export extra is not installed")
    run = dp.load(cli_run)
    with pytest.raises(ConfigurationError, match=r"writes \.vtu or \.vtk files \(got '\.txt'\)"):
        run.export(tmp_path / "u.txt", "vtk")
    with pytest.raises(ConfigurationError, match=r"format='torchscript' takes no options"):
        run.export(tmp_path / "u.pt", "torchscript", resolution=5)
    with pytest.raises(ConfigurationError, match=r"format='png'; deepinn writes torchscript, "
                                                 r"onnx, vtk"):
        run.export(tmp_path / "u.png", "png")


def test_a_time_name_that_is_no_coordinate_is_refused_naming_the_coordinates(
    marching_run: dp.runs.TrainedRun, tmp_path: Path
) -> None:
    pytest.importorskip("meshio", reason="the export extra is not installed")
    with pytest.raises(ConfigurationError, match=r"the time coordinate 'tau' is not one of "
                                                 r"problem 'marched_heat''s coordinates "
                                                 r"\['x', 't'\]; give time='t', or time=None"):
        marching_run.export(tmp_path / "heat.vtu", "vtk", time="tau", resolution=3)
    assert not list(tmp_path.iterdir())
    spatial = marching_run.export(tmp_path / "plane.vtu", "vtk", time=None, resolution=3)
    assert spatial.suffix == ".vtu"  # t is one more spatial axis: one file, no series


def test_the_export_command_takes_the_time_coordinate_and_refuses_another_name(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meshio = pytest.importorskip("meshio", reason="the export extra is not installed")
    from deepinn.__main__ import main

    run = tmp_path / "heat"
    assert cli(run, "problem=heat", "eval_points=100", "net.hidden=[4]", "optimizer=adam",
               "trainer.max_steps=2", "dtype=float64") == 0
    out = tmp_path / "heat.vtu"
    assert main(["export", str(run), "--out", str(out), "--grid", "t=0:1:3",
                 "--resolution", "4"]) == 0  # no --time: t gives the slices, as documented
    series = json.loads((tmp_path / "heat.vtu.series").read_text())["files"]
    assert [entry["time"] for entry in series] == [0.0, 0.5, 1.0]
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(out), "--time", "tau"]) == 1
    error = capsys.readouterr().err
    assert "time coordinate 'tau' is not one of problem 'heat''s coordinates ['x', 't']" in error
    assert "give --time t, or --time none" in error and "time=" not in error
    plane = tmp_path / "plane.vtu"
    assert main(["export", str(run), "--out", str(plane), "--time", "none",
                 "--resolution", "4"]) == 0
    assert meshio.read(plane).points.shape == (16, 3)  # x and t as two spatial axes
    assert main(["export", str(run), "--out", str(tmp_path / "m.pt"), "--time", "t"]) == 1
    assert "--grid, --mesh and --time are for --format vtk" in capsys.readouterr().err


# ------------------------------------------------------------------ time marching
@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")
def test_a_time_marching_run_predicts_and_exports_its_composite_network(
    marching_run: dp.runs.TrainedRun, tmp_path: Path
) -> None:
    x = BOX.domain.sample_uniform(200, torch.Generator().manual_seed(3)).to(torch.float64)
    x[:3, 1] = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)  # the edges: window 1 from 0.5
    expected = marching_run.predict(x)
    second = marching_run.network.windows[1](x[1:2])
    torch.testing.assert_close(expected[1:2], second, rtol=0, atol=0)
    scripted = torch.jit.load(str(marching_run.export(tmp_path / "heat.pt")))
    torch.testing.assert_close(scripted(x), expected, rtol=0, atol=1e-14)
    if importlib.util.find_spec("onnxscript") is not None:
        path = marching_run.export(tmp_path / "heat.onnx", "onnx")
        _, (u,) = _onnx_outputs(path, x.numpy())
        np.testing.assert_allclose(u, expected[:, 0].numpy(), rtol=0, atol=1e-13)


NETWORKS = {
    "fourier": ["net=fourier", "net.n_features=8", "net.hidden=[4]"],
    "modified_rwf_periodic": ["net.architecture=modified", "net.rwf=true", "net.hidden=[4,4]",
                              "+net.periodic={x0: 1.0}"],
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_fourier_modified_and_periodic_networks_reload_and_export(
    kind: str, cli: Any, tiny: list[str], tmp_path: Path
) -> None:
    overrides = [o for o in tiny if not o.startswith("net.")]
    assert cli(tmp_path / "run", *overrides, *NETWORKS[kind], "trainer.max_steps=5") == 0
    run = dp.load(tmp_path / "run")
    stored = np.load(tmp_path / "run" / "predictions.npz")
    np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])
    if importlib.util.find_spec("onnxscript") is not None:
        _, (u,) = _onnx_outputs(run.export(tmp_path / "model.onnx", "onnx"), stored["points"])
        np.testing.assert_allclose(u, stored["prediction"][:, 0], rtol=0, atol=1e-13)


def test_the_file_suffix_chooses_the_format_and_a_contrary_one_is_refused(
    cli_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepinn.__main__ import main
    from deepinn.runs._export import format_for

    assert [format_for(name) for name in ("m.onnx", "m.VTU", "m.vtk", "m.pt", "m")] == [
        "onnx", "vtk", "vtk", "torchscript", "torchscript"
    ]
    run = dp.load(cli_run)
    with pytest.raises(ConfigurationError, match=r"model\.onnx': the suffix '\.onnx' is for "
                                                 r"the onnx format, not torchscript; give "
                                                 r"format='onnx', or a file name ending in "
                                                 r"\.pt\.$"):
        run.export(tmp_path / "model.onnx", "torchscript")
    with pytest.raises(ConfigurationError, match=r"is for the vtk format, not onnx; give "
                                                 r"format='vtk', or a file name ending in \.onnx"):
        run.export(tmp_path / "model.vtu", "onnx")
    assert not list(tmp_path.iterdir())
    assert main(["export", str(cli_run), "--format", "vtk", "--out", str(tmp_path / "m.onnx")]) == 1
    error = capsys.readouterr().err  # the command line's words, not the Python API's
    assert error.startswith("deepinn export: error: export: ")
    assert (f"the suffix '.onnx' is for the onnx format, not vtk; give --format onnx, or --out "
            f"{tmp_path / 'm.vtu'}.") in error
    assert "format=" not in error and "file name" not in error
    assert not list(tmp_path.iterdir())
    script = tmp_path / "model.pt"
    assert main(["export", str(cli_run), "--out", str(script)]) == 0  # no --format: torchscript
    assert zipfile.is_zipfile(script)  # a TorchScript archive


@pytest.mark.slow
def test_without_format_an_onnx_file_name_writes_onnx(cli_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxscript", reason="the export extra is not installed")
    from deepinn.__main__ import main

    model = tmp_path / "model.onnx"
    assert main(["export", str(cli_run), "--out", str(model)]) == 0
    assert not zipfile.is_zipfile(model)  # not a TorchScript archive
    x = np.random.default_rng(0).random((5, 2))
    _, (u,) = _onnx_outputs(model, x)
    np.testing.assert_allclose(u, dp.load(cli_run).predict(x)[:, 0], rtol=0, atol=1e-13)
