"""A command-line run's folder after the run: its ``.lock`` released (the file closed, no
ResourceWarning), and its losses figure, resumed, drawing the whole history."""

from __future__ import annotations

import fcntl
import gc
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("keep_root_logging")  # Hydra's job sets up train.log


def test_a_finished_command_line_run_closes_its_lock_file(
    cli: Callable[..., int], tiny: list[str], tmp_path: Path
) -> None:
    from deepinn.training.service import _runfolder

    run_dir = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert cli(run_dir, *tiny) == 0
        gc.collect()
    assert run_dir.resolve() not in _runfolder._HELD  # released, not left for the interpreter
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)
                and ".lock" in str(w.message)]
    with open(run_dir / ".lock") as handle:  # nobody holds it: another run may take it now
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_resumed_runs_losses_figure_holds_the_error_at_the_resume_step(
    cli: Callable[..., int], tiny: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint at a validation step is written before that step's validation; the
    resumed run measures the error at its first step again, so the figure has no gap there."""
    from deepinn.training.service import _callbacks

    drawn: list[list[int]] = []

    def loss_figure(steps, losses, val_steps=(), errors=None):  # type: ignore[no-untyped-def]
        drawn.append(list(val_steps))
        return figure(steps, losses, val_steps, errors)

    figure = _callbacks.loss_figure
    monkeypatch.setattr(_callbacks, "loss_figure", loss_figure)
    run_dir = tmp_path / "run"
    every = ["monitor.val_every=10", "monitor.log_every=5"]
    assert cli(run_dir, *[o for o in tiny if "max_steps" not in o], *every,
               "trainer.max_steps=20") == 0
    assert drawn == [[10, 20]]
    assert cli(run_dir, f"resume={run_dir}", "trainer.max_steps=40") == 0
    assert drawn[-1] == [10, 20, 30, 40]
    assert (run_dir / "plots" / "losses.png").is_file()
