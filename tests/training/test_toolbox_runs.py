"""The training toolbox switched on together, through ``train.py``: DDP, resume and compile.

One configuration turns on every option of the toolbox at once (adaptive RAD points redrawn every
3 steps, grad-norm balancing every 2 steps, causal weighting, the modified MLP with random weight
factorisation, Fourier features) on a tiny Burgers problem in float64. Each test compares a run
against the uninterrupted single-process eager run of the same configuration, step by step:

- DDP on two CPU processes (gloo) logs the same losses and ends at the same error;
- a run stopped at step 5 and resumed to step 10 ends where the uninterrupted run ends;
- ``compile=true`` compiles the whole loss and logs the same losses, alone and under DDP (there
  without grad_norm, so that the loss is compiled with its gradient).

Subprocesses: Lightning's ``ddp`` strategy re-executes ``sys.argv`` once per rank.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = 10
TOOLBOX = [
    "problem=burgers", "problem.n_interior=96", "problem.n_boundary=16", "problem.n_initial=16",
    "sampler=adaptive", "resample_every=3", "weighting.name=grad_norm", "weighting.every=2",
    "causal.tol=1.0", "causal.chunks=4", "net=mlp", "net.hidden=[8,8]",
    "net.architecture=modified", "net.rwf=true", "net.fourier_features=4",
    "optimizer=adam", "optimizer.lr=0.01", "dtype=float64", "seed=5", "eval_points=300",
    "trainer.enable_progress_bar=false", "monitor.log_every=1", "monitor.val_every=5",
    "monitor.checkpoint_every=5",
]

pytestmark = [pytest.mark.slow]


def _run(cwd: Path, *overrides: str, timeout: float = 600) -> Path:
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    command = [sys.executable, str(ROOT / "train.py"), *TOOLBOX, *overrides]
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return cwd


def _losses(run: Path, tag: str = "train/loss") -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    _run(ROOT, f"trainer.max_steps={STEPS}", f"hydra.run.dir={run}")
    return run


@pytest.mark.ddp
def test_ddp_with_every_toolbox_option_matches_one_process(reference, tmp_path):
    run = tmp_path / "ddp"
    _run(
        tmp_path, f"trainer.max_steps={STEPS}", f"hydra.run.dir={run}",
        "trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu",
    )
    for tag in ("train/loss", "train/weight/pde", "train/weight/initial"):
        single, ddp = _losses(reference, tag), _losses(run, tag)
        assert [s for s, _ in ddp] == [s for s, _ in single] == list(range(STEPS)), tag
        np.testing.assert_allclose([v for _, v in ddp], [v for _, v in single], rtol=1e-6)
    assert _metrics(run)["rel_l2"] == pytest.approx(_metrics(reference)["rel_l2"], rel=1e-6)


def test_resume_with_every_toolbox_option_ends_where_the_uninterrupted_run_ends(
    reference, tmp_path
):
    run = tmp_path / "stopped"
    _run(tmp_path, "trainer.max_steps=5", f"hydra.run.dir={run}")
    _run(tmp_path, f"trainer.max_steps={STEPS}", f"resume={run}", f"hydra.run.dir={run}")
    resumed, uninterrupted = _metrics(run), _metrics(reference)
    assert resumed["steps"] == STEPS
    assert resumed["final_loss"] == pytest.approx(uninterrupted["final_loss"], rel=1e-9)
    assert resumed["rel_l2"] == pytest.approx(uninterrupted["rel_l2"], rel=1e-9)


@pytest.mark.needs_compiler
def test_compile_with_every_toolbox_option_compiles_the_whole_loss_and_trains_alike(
    reference, tmp_path
):
    run = tmp_path / "compiled"
    _run(tmp_path, f"trainer.max_steps={STEPS}", f"hydra.run.dir={run}", "compile=true")
    log = (run / "train.log").read_text()
    if "is not available here" in log:
        pytest.skip("torch.compile is not available on this machine")
    # grad_norm differentiates each term: the loss is compiled alone, not with its gradient
    assert "the whole loss (forward lanes, residuals, reductions) is compiled (warm-up" in log
    eager, compiled = _losses(reference), _losses(run)
    assert [s for s, _ in compiled] == [s for s, _ in eager]
    np.testing.assert_allclose([v for _, v in compiled], [v for _, v in eager], rtol=1e-6)


@pytest.mark.needs_compiler
@pytest.mark.ddp
def test_ddp_and_compile_together_with_every_toolbox_option_match_one_eager_process(
    tmp_path_factory, tmp_path
):
    # Without grad_norm (the compile test above keeps it): the loss is compiled with its
    # gradient, the causal all-reduce inside that graph, and the gradients all-reduced after.
    unweighted = ("weighting.name=none",)
    reference = tmp_path_factory.mktemp("unweighted") / "run"
    _run(ROOT, f"trainer.max_steps={STEPS}", f"hydra.run.dir={reference}", *unweighted)
    run = tmp_path / "ddp_compiled"
    _run(
        tmp_path, f"trainer.max_steps={STEPS}", f"hydra.run.dir={run}", "compile=true",
        "trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu", *unweighted,
    )
    log = (run / "train.log").read_text()
    if "is not available here" in log:
        pytest.skip("torch.compile is not available on this machine")
    assert "reductions) is compiled with its gradient" in log
    for tag in ("train/loss", "train/loss/pde", "train/loss/initial"):
        single, both = _losses(reference, tag), _losses(run, tag)
        assert [s for s, _ in both] == [s for s, _ in single], tag
        np.testing.assert_allclose([v for _, v in both], [v for _, v in single], rtol=1e-6)
    assert _metrics(run)["rel_l2"] == pytest.approx(_metrics(reference)["rel_l2"], rel=1e-6)
