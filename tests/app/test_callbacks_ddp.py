"""Under DDP every rank builds the chosen callbacks from the same configuration and takes the same
decisions: an early stop ends both ranks at the same step (a rank left training would hang)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.ddp]


def test_early_stop_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [
        sys.executable, str(ROOT / "train.py"), "optimizer=adam", "dtype=float64",
        "net.hidden=[8]", "problem.n_interior=64", "problem.n_boundary=32", "eval_points=200",
        "trainer.max_steps=400", "trainer.enable_progress_bar=false", "monitor.val_every=10",
        "trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu", "callbacks=[early_stop]",
        "callbacks.early_stop.patience=20", "callbacks.early_stop.min_delta=100",
        f"hydra.run.dir={run}",
    ]
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    try:
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired as error:  # one rank stopped, the other waits forever
        pytest.fail(f"the DDP run did not finish: {str(error.stdout)[-2000:]}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in output, output[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 30
    assert metrics["stop_reason"].startswith("early stop at step 30: val/rel_l2")
