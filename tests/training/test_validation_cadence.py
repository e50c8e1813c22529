"""Validation under the default interval costs a few percent of a run: the error at every
validation, the figures only while they stay within their share of the time trained, and the
solution figure of the last step always."""

from __future__ import annotations

import pytest
from square_poisson import square_poisson

from deepinn.training import fit
from deepinn.training.service._callbacks import FigureLogger
from deepinn.training.settings._settings import FIGURE_SHARE, RunConfig

STEPS = 40


def _images_and_errors(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    solution = [e.step for e in events.Images("error/solution")]
    errors = [e.step for e in events.Scalars("error/rel_l2")]
    return solution, errors


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    problem, net = square_poisson()
    folder = tmp_path_factory.mktemp("run")
    fit(  # monitor.val_every left at its default: a tenth of max_steps
        problem, net, max_steps=STEPS, run_dir=folder, eval_points=256, compile=False,
        trainer_options={"enable_progress_bar": False},
    )
    return folder


def test_the_default_validates_ten_times_and_draws_the_last_steps_figure(default_run):
    solution, errors = _images_and_errors(default_run)
    assert errors == list(range(STEPS // 10, STEPS + 1, STEPS // 10))
    # a figure costs far more than 2% of these few milliseconds of training: only the last one
    assert solution == [STEPS]


def test_the_figures_share_is_set_by_the_default_interval_only():
    assert RunConfig().figure_share() == FIGURE_SHARE
    assert RunConfig(monitor={"val_every": 5}).figure_share() is None


def test_a_figure_is_drawn_while_the_figures_stay_within_their_share(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("time.perf_counter", lambda: clock[0])
    logger = FigureLogger(share=0.1)
    logger._start, logger._spent, logger._cost = 100.0, 0.5, 0.5
    clock[0] = 109.0  # 9 s trained: 0.9 s allowed, 1.0 s with the next figure
    assert not logger._affordable()
    clock[0] = 110.0
    assert logger._affordable()
    assert FigureLogger(share=None)._affordable()  # val_every given: every validation
