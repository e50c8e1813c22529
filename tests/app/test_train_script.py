"""`python train.py` end to end in subprocesses: run folder, TensorBoard, resume, bad configs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "net.hidden=[16,16]",
    "problem.n_interior=200",
    "problem.n_boundary=80",
    "eval_points=2000",
    "threads=1",
]

pytestmark = pytest.mark.slow


def _train(*overrides: str, run_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, "train.py", *overrides, f"hydra.run.dir={run_dir}"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    result = _train(
        *FAST, "trainer.max_steps=40", "optimizer.adam_steps=30", "monitor.val_every=10",
        "monitor.checkpoint_every=10", "monitor.log_every=5", "monitor.grad_norm_every=5",
        "monitor.histogram_every=10", run_dir=run_dir,
    )
    return run_dir, result


def test_run_folder_holds_every_artifact(short_run):
    run_dir, result = short_run
    for name in [".hydra/config.yaml", "metrics.json", "predictions.npz", "checkpoints/last.ckpt",
                 "plots/solution_u.png", "plots/points_pde.png", "plots/points_boundary.png"]:
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "checkpoints").glob("best-*.ckpt"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"rel_l2", "final_loss", "loss_per_constraint", "steps", "wall_time_s"} <= set(metrics)
    assert metrics["steps"] == 40
    assert set(metrics["loss_per_constraint"]) == {"pde", "boundary"}
    with np.load(run_dir / "predictions.npz") as data:
        assert data["points"].shape == (2000, 2)
        assert data["prediction"].shape == data["exact"].shape == (2000, 1)
    assert "rel_l2" in result.stdout and "tensorboard --logdir" in result.stdout


def test_tensorboard_has_scalars_histograms_images_and_config(short_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _ = short_run
    accumulator = EventAccumulator(
        str(run_dir / "tensorboard"),
        size_guidance={"images": 0, "histograms": 0, "scalars": 0, "tensors": 0},
    )
    accumulator.Reload()
    tags = accumulator.Tags()
    for scalar in [
        "train/loss",
        "train/loss/pde",
        "train/loss/boundary",
        "train/lr",
        "error/rel_l2",
        "weights/grad_norm/total",
    ]:
        assert scalar in tags["scalars"], (scalar, tags["scalars"])
    assert any(tag.startswith("weights/grad_norm/net.") for tag in tags["scalars"])
    assert any(tag.startswith("weights/") for tag in tags["histograms"])
    assert any(tag.startswith("weights/grad/") for tag in tags["histograms"])
    assert {"train/points", "error/solution"} <= set(tags["images"])
    assert any("config" in tag for tag in tags["tensors"])
    for tag in ("train/loss", "train/loss/pde", "train/loss/boundary", "train/lr"):
        assert [event.step for event in accumulator.Scalars(tag)] == list(range(0, 40, 5)), tag


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    args = [*FAST, "optimizer=adam", "trainer.max_steps=1500", "resample_every=400",
            "monitor.checkpoint_every=100", "monitor.val_every=100", "logger=none"]
    reference = tmp_path / "reference"
    _train(*args, run_dir=reference)

    killed = tmp_path / "killed"
    command = [sys.executable, "train.py", *args, f"hydra.run.dir={killed}"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    last = killed / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "metrics.json").exists(), "the run finished before it could be killed"

    resumed = tmp_path / "resumed"
    _train(*args, f"resume={killed}", run_dir=resumed)
    expected = json.loads((reference / "metrics.json").read_text())
    actual = json.loads((resumed / "metrics.json").read_text())
    assert actual["steps"] == expected["steps"] == 1500
    assert actual["final_loss"] == pytest.approx(expected["final_loss"], rel=1e-5)
    assert actual["rel_l2"] == pytest.approx(expected["rel_l2"], rel=1e-5)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("domain=circel", "Unknown domain option 'circel'"),
        ("problem.n_interior=many", "n_interior"),
        ("problem.n_interior=-5", "n_interior = -5"),
        ("problem=helmholtz domain=interval", "needs a 2-D domain"),
        ("trainer.max_steps=0", "max_steps"),
    ],
)
def test_bad_configuration_fails_before_training_with_one_message(tmp_path, override, message):
    result = _train(*override.split(), run_dir=tmp_path, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "checkpoints").exists()


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=600)


def test_a_sweep_runs_one_job_per_value(tmp_path):
    result = _command(
        "-m",
        *FAST,
        "trainer.max_steps=2",
        "optimizer=adam",
        "logger=none",
        "domain=interval,circle",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [json.loads((tmp_path / "sweep" / job / "metrics.json").read_text())["steps"]
             for job in ("0", "1")]
    assert steps == [2, 2]
    overrides = (tmp_path / "sweep" / "1" / ".hydra" / "overrides.yaml").read_text()
    assert "- domain=circle" in overrides


def test_cfg_job_prints_the_configuration_and_runs_nothing(tmp_path):
    result = _command("--cfg", "job", "problem=heat", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "problem:\n  alpha: 0.1" in result.stdout and "name: heat" in result.stdout
    assert list(tmp_path.iterdir()) == []
