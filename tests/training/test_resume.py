"""Resume: every optimizer preset with every learning-rate schedule continues bit-identically, from
a run stopped at max_steps, by SIGTERM or by Ctrl+C (SIGINT); ``last.ckpt`` is the final state."""

from __future__ import annotations

import json
import math
import os
import signal

import lightning.pytorch as pl
import pytest
import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import fit
from deepinn.training.service._signals import RunInterruptedError
from deepinn.training.settings._presets import (
    SCHEDULERS,
    AdamConfig,
    AdamLBFGSConfig,
    AdamWConfig,
    LBFGSConfig,
    SchedulerConfig,
    SGDConfig,
)
from deepinn.training.settings._presets_second import (
    AdamSSBFGSConfig,
    AdamSSBroydenConfig,
    SOAPConfig,
    SSBroydenConfig,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Optimizer phase 1 .LBFGS. starts at step"),
    pytest.mark.filterwarnings("ignore:Optimizer phase 1 .SelfScaledQuasiNewton. starts at step"),
    pytest.mark.filterwarnings("ignore:Be aware that when using `ckpt_path`"),
    pytest.mark.filterwarnings("ignore:The dirpath has changed from"),
]

STEPS = 20
QUIET = {"enable_progress_bar": False}
SCHEDULE_SETTINGS = {
    "none": {},
    "exponential": {"gamma": 0.5, "decay_steps": 4},
    "step": {"gamma": 0.5, "decay_steps": 4},
    "cosine": {"warmup_steps": 2, "min_lr_ratio": 0.1},
    "warmup": {"warmup_steps": 4},
    "warmup_exponential": {"warmup_steps": 3, "gamma": 0.5, "decay_steps": 4},
}
PRESETS = {
    "adam": lambda s: AdamConfig(lr=1e-2, scheduler=s),
    "adamw": lambda s: AdamWConfig(lr=1e-2, scheduler=s),
    "sgd": lambda s: SGDConfig(lr=1e-2, scheduler=s),
    "lbfgs": lambda s: LBFGSConfig(),
    "adam_lbfgs": lambda s: AdamLBFGSConfig(adam_steps=8, lr=1e-2, scheduler=s),
    "ssbroyden": lambda s: SSBroydenConfig(iterations=2),
    "adam_ssbroyden": lambda s: AdamSSBroydenConfig(adam_steps=8, lr=1e-2, scheduler=s),
    "adam_ssbfgs": lambda s: AdamSSBFGSConfig(adam_steps=8, lr=1e-2, scheduler=s),
    "soap": lambda s: SOAPConfig(lr=1e-2, scheduler=s),
}
STOPS = {  # stopped in the Adam phase, then in the second phase
    "adam_lbfgs": (5, 13), "adam_ssbroyden": (5, 13), "adam_ssbfgs": (5, 13)
}
UNSCHEDULED = ("lbfgs", "ssbroyden")  # one schedule is enough for the schedule-free ones
GRID = [
    (preset, schedule)
    for preset in PRESETS
    for schedule in (("none",) if preset in UNSCHEDULED else SCHEDULERS)
]


def _problem():
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 16),
                        residual=lambda f: -f.laplacian("u") / math.pi**2, source=exact)
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("poisson1d", interval, [pde, bc], exact=exact)


def _phases(preset, schedule):
    assert set(SCHEDULERS) == set(SCHEDULE_SETTINGS)  # a new schedule joins the grid
    scheduler = SchedulerConfig(name=schedule, **SCHEDULE_SETTINGS[schedule])
    return PRESETS[preset](scheduler).phases(STEPS)


def _fit(preset, schedule, max_steps, run_dir=None, resume=None, callbacks=()):
    torch.manual_seed(0)
    net = dp.nn.FullyConnected([1, 8, 1], "tanh")
    return fit(_problem(), net, phases=_phases(preset, schedule), max_steps=max_steps,
               run_dir=run_dir, logger=False, trainer_options={**QUIET, "callbacks": [*callbacks]},
               dtype=torch.float64, eval_points=20, checkpoint_every=4, val_every=4, threads=1,
               field_mode="reverse",
               resume=None if resume is None else str(resume))


def _weights(result):
    return {k: v.clone() for k, v in result.network.state_dict().items()}


def _assert_identical(result, want):
    got = _weights(result)
    assert got.keys() == want.keys()
    for key in want:
        assert torch.equal(got[key], want[key]), f"{key} differs after the resume"


def _step(path):
    return torch.load(path, map_location="cpu", weights_only=True)["global_step"]


_REFERENCES: dict[tuple[str, str], dict[str, torch.Tensor]] = {}


def _reference(preset, schedule):
    """The uninterrupted run's final weights (one run per preset and schedule)."""
    if (preset, schedule) not in _REFERENCES:
        _REFERENCES[preset, schedule] = _weights(_fit(preset, schedule, STEPS))
    return _REFERENCES[preset, schedule]


@pytest.fixture
def no_figures(monkeypatch):
    """The run folder's figures are not drawn (what is tested here is the state)."""
    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda *args, **kwargs: None)


@pytest.mark.parametrize(("preset", "schedule"), GRID)
def test_every_optimizer_and_schedule_resumes_bit_identically(
    preset, schedule, tmp_path, no_figures
):
    previous = None
    for index, stop in enumerate(STOPS.get(preset, (9,))):
        folder = tmp_path / f"part{index}"
        _fit(preset, schedule, stop, run_dir=folder, resume=previous)
        # 9, 5 and 13 are not multiples of checkpoint_every=4: last.ckpt is the final state
        assert _step(folder / "checkpoints" / "last.ckpt") == stop
        previous = folder
    resumed = _fit(preset, schedule, STEPS, resume=previous)
    assert resumed.metrics["steps"] == STEPS
    _assert_identical(resumed, _reference(preset, schedule))


class _SignalAt(pl.Callback):
    """Sends ``signum`` to this process once the run has reached ``step``."""

    def __init__(self, signum, step):
        self.signum, self.step, self.sent = signum, step, False

    def on_train_batch_end(self, trainer, *args):
        if not self.sent and trainer.global_step >= self.step:
            self.sent = True
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize(("preset", "schedule"), GRID)
def test_a_run_stopped_by_a_signal_saves_its_state_and_resumes_bit_identically(
    preset, schedule, signum, tmp_path, no_figures
):
    name = signal.Signals(signum).name
    reference = _reference(preset, schedule)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(RunInterruptedError, match=f"stopped by {name} at step") as info:
        _fit(preset, schedule, STEPS, run_dir=tmp_path, callbacks=[_SignalAt(signum, 10)])
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl+C's handler is given back
    stopped = info.value.metrics["steps"]
    assert 10 <= stopped < STEPS and info.value.signal_name == name
    assert info.value.exit_status == 128 + signum
    assert f"last.ckpt and metrics.json saved; resume with: deepinn.fit(..., resume='{tmp_path}')" \
        in str(info.value)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stop_reason"] == f"{name} at step {stopped}"
    assert _step(tmp_path / "checkpoints" / "last.ckpt") == stopped
    _assert_identical(_fit(preset, schedule, STEPS, resume=tmp_path), reference)


def test_a_signal_to_a_run_without_a_folder_says_nothing_was_saved():
    with pytest.raises(RunInterruptedError, match="stopped by SIGTERM at step") as info:
        _fit("adam", "none", STEPS, callbacks=[_SignalAt(signal.SIGTERM, 3)])
    message = str(info.value)
    assert "nothing was saved" in message and "saved;" not in message
    assert "deepinn.fit(..., run_dir=<folder>)" in message


def test_lbfgs_stopped_by_convergence_saves_its_final_state(tmp_path):
    torch.manual_seed(0)
    net = dp.nn.FullyConnected([1, 8, 1], "tanh")
    phases = LBFGSConfig(tolerance_change=1e-3).phases(STEPS)
    result = fit(_problem(), net, phases=phases, max_steps=200, run_dir=tmp_path, logger=False,
                 trainer_options=QUIET, dtype=torch.float64, eval_points=20, checkpoint_every=50,
                 threads=1)
    stopped = result.metrics["steps"]
    assert result.module.stop_reason.startswith("L-BFGS converged") and stopped % 50 != 0
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == stopped
    saved = {k.removeprefix("net."): v for k, v in last["state_dict"].items()
             if k.startswith("net.")}
    for key, value in result.network.state_dict().items():
        assert torch.equal(saved[key], value)


def test_checkpoints_hold_plain_data_only(tmp_path):
    _fit("adam", "cosine", 4, run_dir=tmp_path)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["lr_schedulers"][0]["lr_lambdas"] == [None]  # the schedule comes from the config
    assert state["lr_schedulers"][0]["last_epoch"] == 4  # its progress from the checkpoint
