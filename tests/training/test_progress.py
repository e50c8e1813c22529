"""Progress that tells the truth: optimizer steps against ``max_steps`` (a bar at a terminal,
lines elsewhere), from the step a resumed run starts at, and none of Lightning's own chatter."""

from __future__ import annotations

import logging
import math
import re

import lightning.pytorch as pl
import pytest
import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import fit
from deepinn.training.service import _progress
from deepinn.training.service._progress import (
    LIGHTNING_INFO_LOGGERS,
    LineProgress,
    StepProgressBar,
    quiet_lightning,
)


def _problem():
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 16),
                        residual=lambda f: -f.laplacian("u") / math.pi**2, source=exact)
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("poisson1d", interval, [pde, bc], exact=exact)


def _net():
    torch.manual_seed(0)
    return dp.nn.FullyConnected([1, 8, 1], "tanh", bounds=([0.0], [1.0]))


class BarSpy(pl.Callback):
    """The bar's count, total and starting count when training ends."""

    def on_train_end(self, trainer, pl_module):
        bar = trainer.progress_bar_callback
        self.kind = type(bar)
        if bar is None:
            return
        self.seen = (bar.train_progress_bar.initial, bar.train_progress_bar.n,
                     bar.train_progress_bar.total)
        self.text = str(bar.train_progress_bar)


def _fit(steps, terminal, monkeypatch, **knobs):
    monkeypatch.setattr(_progress, "stdout_is_terminal", lambda: terminal)
    spy = BarSpy()
    knobs.setdefault("threads", 1)
    fit(_problem(), _net(), max_steps=steps, logger=False, eval_points=50,
        trainer_options={"callbacks": [spy]}, **knobs)
    return spy


def test_the_bar_counts_optimizer_steps_to_max_steps(monkeypatch):
    spy = _fit(400, True, monkeypatch)
    assert spy.kind is StepProgressBar
    assert spy.seen == (0, 400, 400)
    assert re.search(r"400/400 \[.*step/s, train/loss=\S+, rel_l2=\S+\]$", spy.text), spy.text


def test_a_resumed_run_starts_its_bar_at_the_step_it_resumes_from(monkeypatch, tmp_path):
    _fit(200, True, monkeypatch, run_dir=tmp_path / "run", checkpoint_every=100)
    spy = _fit(400, True, monkeypatch, run_dir=tmp_path / "run", resume=str(tmp_path / "run"),
               checkpoint_every=100)
    assert spy.seen == (200, 400, 400)


def test_the_lines_end_at_max_steps_with_each_term_the_error_and_the_speed(monkeypatch, capsys):
    monkeypatch.setattr(_progress, "stdout_is_terminal", lambda: False)
    fit(_problem(), _net(), max_steps=400, logger=False, eval_points=50, threads=1,
        log_every=100)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["100/400", "200/400", "300/400", "400/400"]
    pattern = (r"^step 400/400  loss \S+ \((pde|boundary) \S+, (pde|boundary) \S+\)  "
               r"rel_l2 \S+  \S+ steps/s  0:00:00 left$")
    assert re.match(pattern, lines[-1]), lines[-1]
    assert all("steps/s" in line and "left" in line for line in lines)


def test_a_resumed_run_writes_lines_from_its_global_step(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_progress, "stdout_is_terminal", lambda: False)
    _fit(200, False, monkeypatch, run_dir=tmp_path / "run", checkpoint_every=100, log_every=100)
    capsys.readouterr()
    _fit(400, False, monkeypatch, run_dir=tmp_path / "run", resume=str(tmp_path / "run"),
         checkpoint_every=100, log_every=100)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["300/400", "400/400"]


def test_a_run_prints_no_lightning_tip_device_or_stop_line(monkeypatch, capfd):
    _fit(40, False, monkeypatch)
    out, err = capfd.readouterr()
    for noise in ("GPU available", "TPU available", "Tip:", "litlogger", "`Trainer.fit` stopped"):
        assert noise not in out + err


def test_the_bar_in_a_log_file_is_lines(monkeypatch):
    spy = BarSpy()
    monkeypatch.setattr(_progress, "stdout_is_terminal", lambda: False)
    options = {"enable_progress_bar": True}
    assert [type(c) for c in _progress.progress_callbacks(options, [spy], 10, 100)] == [
        LineProgress]
    assert options["enable_progress_bar"] is False


def test_a_progress_bar_of_the_users_own_is_kept(monkeypatch):
    monkeypatch.setattr(_progress, "stdout_is_terminal", lambda: True)
    own = pl.callbacks.TQDMProgressBar()
    assert _progress.progress_callbacks({}, [own], 10, 100) == []
    assert _progress.progress_callbacks({"enable_progress_bar": False}, [], 10, 100) == []


def test_lightning_info_is_quiet_inside_and_restored_after():
    loggers = [logging.getLogger(name) for name in LIGHTNING_INFO_LOGGERS]
    before = [each.level for each in loggers]
    with quiet_lightning():
        assert all(not each.isEnabledFor(logging.INFO) for each in loggers)
        assert all(each.isEnabledFor(logging.WARNING) for each in loggers)
    assert [each.level for each in loggers] == before


@pytest.mark.parametrize(("seconds", "text"), [(0.2, "0:00:00"), (65, "0:01:05"),
                                               (3725, "1:02:05"), (math.inf, "?")])
def test_time_left_reads_as_hours_minutes_seconds(seconds, text):
    assert _progress._duration(seconds) == text


def test_a_warning_at_deepinns_own_line_is_one_log_line(caplog, recwarn):
    import warnings

    with caplog.at_level(logging.WARNING, logger="deepinn.training"), warnings.catch_warnings():
        warnings.simplefilter("always")
        with _progress.warnings_as_log_lines():
            warnings.warn_explicit("phase 1 never runs", UserWarning, _progress.__file__, 1)
            warnings.warn_explicit("a user's warning", UserWarning, "/elsewhere/script.py", 3)
    assert [r.getMessage() for r in caplog.records] == ["phase 1 never runs"]
    assert [str(w.message) for w in recwarn] == ["a user's warning"]
