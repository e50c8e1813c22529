"""An error raised below the app with its fix as settings speaks the caller's syntax: the command
line prints ``deepinn train key=value``, the Python API ``deepinn.fit(..., keyword=value)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deepinn import TrainingError
from deepinn._errors import Setting
from deepinn.app import _build, train

TINY = ["problem.n_interior=32", "problem.n_boundary=8", "eval_points=100", "net.hidden=[4]",
        "threads=1", "logger=none", "optimizer=adam", "trainer.max_steps=2"]


def _stuck(run: str) -> TrainingError:
    return TrainingError(
        "The loss stopped falling at step 2; continue with a lower learning rate: {fix}",
        fix=[Setting("resume", run, python=f"resume='{run}'"),
             Setting("optimizer.lr", "<lower>", python="phases=adam(lr=<lower>)")],
    )


pytestmark = pytest.mark.usefixtures("keep_root_logging")  # Hydra's job sets up train.log


def test_the_command_line_prints_the_fix_as_its_own_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"

    def fake_fit(*args: Any, **kwargs: Any) -> Any:
        raise _stuck(str(run))

    monkeypatch.setattr(_build, "fit", fake_fit)
    with pytest.raises(SystemExit) as info:
        train([*TINY, f"hydra.run.dir={run}"])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "deepinn train: error: The loss stopped falling at step 2; continue with a lower learning "
        f"rate: deepinn train resume={run} optimizer.lr=<lower>"
    )
    assert f"continue with a lower learning rate: deepinn train resume={run}" in (
        run / "train.log"
    ).read_text()


def test_the_python_api_prints_the_fix_as_fit_keywords() -> None:
    assert str(_stuck("/runs/a")).endswith(
        "continue with a lower learning rate: deepinn.fit(..., resume='/runs/a', "
        "phases=adam(lr=<lower>))"
    )


def test_an_error_before_the_run_speaks_the_command_line_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_build(*args: Any, **kwargs: Any) -> Any:
        raise _stuck("/runs/a")

    monkeypatch.setattr("deepinn.app._main.build", fake_build)
    with pytest.raises(SystemExit):
        train([*TINY, f"hydra.run.dir={tmp_path / 'run'}"])
    assert capsys.readouterr().err.strip().endswith(
        "deepinn train resume=/runs/a optimizer.lr=<lower>"
    )
    assert not (tmp_path / "run").exists()
