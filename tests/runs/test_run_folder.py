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
