"""The training step's backward and optimizer step without Lightning's wrappers: hooks still run."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import pytest
import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import adam, adam_lbfgs, fit


def _problem():
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    pde = PDEConstraint(
        "pde", dp.samplers.GridSampler(interval, 32), residual=lambda f: f.laplacian("u"),
        source=lambda x: -math.pi**2 * torch.sin(math.pi * x),
    )
    bc = DirichletBC(
        "boundary", dp.samplers.GridSampler(interval.boundary, 2), value=lambda x: 0 * x
    )
    return dp.Problem("poisson1d", interval, [pde, bc])


class Counting(pl.Callback):
    def __init__(self) -> None:
        self.calls = {"before_backward": 0, "after_backward": 0, "before_optimizer_step": 0}
        self.steps: list[int] = []

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        self.calls["before_backward"] += 1

    def on_after_backward(self, trainer, pl_module) -> None:
        self.calls["after_backward"] += 1

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.calls["before_optimizer_step"] += 1
        assert all(p.grad is not None for p in pl_module.parameters())  # after the backward

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps.append(trainer.global_step)


def _fit(phases, steps, callback):
    # An explicit field mode: field_mode=auto picks a path by a timed probe, and two runs could
    # pick differently (the same loss, other rounding).
    torch.manual_seed(0)
    return fit(
        _problem(), dp.nn.FullyConnected([1, 8, 1], "tanh"), phases=phases, max_steps=steps,
        run_dir=None, eval_points=20, logger=False, field_mode="reverse",
        trainer_options={"enable_progress_bar": False, "callbacks": [callback]},
    )


def test_adam_steps_call_every_overridden_hook_once_and_count_the_global_step():
    callback = Counting()
    result = _fit(adam(1e-3), 12, callback)
    assert result.module._stepper.direct
    assert callback.calls == {"before_backward": 12, "after_backward": 12,
                              "before_optimizer_step": 12}
    per_batch = result.module.steps_per_batch  # gcd of 10 and the intervals: 2 for 12 steps
    assert per_batch == 2 and callback.steps == list(range(2, 13, 2))


def test_lbfgs_calls_the_hooks_at_every_closure_evaluation_as_lightning_does():
    callback = Counting()
    result = _fit(adam_lbfgs(adam_steps=3, lr=1e-3), 8, callback)
    backward = callback.calls["before_backward"]
    assert backward > 8  # the line search evaluates the closure more than once per step
    assert callback.calls["after_backward"] == backward
    assert callback.calls["before_optimizer_step"] == backward
    assert callback.steps[-1] == result.module.global_step <= 8


def test_the_direct_path_trains_exactly_as_lightnings_path(monkeypatch):
    from deepinn.training.step import _stepping

    direct = _fit(adam_lbfgs(adam_steps=4, lr=1e-2), 8, Counting())
    original = _stepping.Stepper.__init__

    def wrapped_only(self, module):
        original(self, module)
        self.direct = False

    monkeypatch.setattr(_stepping.Stepper, "__init__", wrapped_only)
    wrapped = _fit(adam_lbfgs(adam_steps=4, lr=1e-2), 8, Counting())
    assert not wrapped.module._stepper.direct
    for a, b in zip(direct.module.parameters(), wrapped.module.parameters(), strict=True):
        assert torch.equal(a, b)


# ------------------------------------------------------------------ several steps per batch
def test_steps_per_batch_divides_every_interval_and_the_limit():
    from deepinn.training.step._stepping import steps_per_batch

    assert steps_per_batch([10, 200, 200, 0, 2000, 1000]) == 10  # the defaults
    assert steps_per_batch([10, 25, 25, 0, 250]) == 5
    assert steps_per_batch([10, 7]) == 1
    assert steps_per_batch([]) == 10
    assert steps_per_batch([4], limit=6) == 2


class Recording(pl.Callback):
    """The global step at every batch end, validation and checkpoint save."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.validations: list[int] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.batches.append(trainer.global_step)

    def on_validation_end(self, trainer, pl_module) -> None:
        self.validations.append(trainer.global_step)


def _run(tmp_path, name, steps, **knobs):
    torch.manual_seed(0)
    callback = Recording()
    result = fit(
        _problem(), dp.nn.FullyConnected([1, 8, 1], "tanh"), phases=adam_lbfgs(adam_steps=30),
        max_steps=steps, run_dir=tmp_path / name, eval_points=20, logger=False,
        field_mode="reverse", dtype=torch.float64,
        trainer_options={"enable_progress_bar": False, "callbacks": [callback]}, **knobs,
    )
    return result, callback


def test_ten_steps_per_batch_train_exactly_as_one_and_keep_every_schedule(tmp_path, monkeypatch):
    from deepinn.training.service import _fit as fit_module

    many, seen = _run(tmp_path, "many", 60, resample_every=20, val_every=20)
    assert many.module.steps_per_batch == 10 and seen.batches == list(range(10, 61, 10))
    monkeypatch.setattr(fit_module, "steps_per_batch", lambda intervals: 1)
    one, seen_one = _run(tmp_path, "one", 60, resample_every=20, val_every=20)
    assert one.module.steps_per_batch == 1 and len(seen_one.batches) == 60
    # the same points, phases (Adam 30 steps, then L-BFGS), validations and checkpoints
    assert seen.validations == seen_one.validations == [20, 40, 60]
    for a, b in zip(many.module.parameters(), one.module.parameters(), strict=True):
        assert torch.equal(a, b)
    assert many.metrics["final_loss"] == one.metrics["final_loss"]
    names = {p.name for p in (tmp_path / "many" / "checkpoints").iterdir()}
    assert names == {p.name for p in (tmp_path / "one" / "checkpoints").iterdir()}


@pytest.mark.slow
def test_l_bfgs_stopping_inside_a_batch_ends_it_there():
    from deepinn.training import lbfgs

    torch.manual_seed(0)
    seen = Recording()
    result = fit(
        _problem(), dp.nn.FullyConnected([1, 4, 1], "tanh"), phases=[lbfgs()], max_steps=3000,
        run_dir=None, eval_points=20, logger=False, field_mode="reverse", dtype=torch.float32,
        trainer_options={"enable_progress_bar": False, "callbacks": [seen]},
    )
    stopped = result.metrics["steps"]  # float32 L-BFGS stalls long before 3000 steps
    assert "L-BFGS converged" in result.metrics["stop_reason"] and stopped < 3000
    assert result.module.steps_per_batch == 10
    assert seen.batches[-2:] == [10 * ((stopped - 1) // 10), stopped]  # (553 here: mid-batch)


def test_a_run_resumed_between_two_batch_ends_realigns_and_trains_as_the_uninterrupted_one(
    tmp_path,
):
    # The first run ends at step 15 (5 steps per batch); the resumed one runs 10 per batch: its
    # first batch runs 5 steps, to 20, and the rest end at multiples of 10.
    def run(name, steps, **knobs):
        torch.manual_seed(0)
        seen = Recording()
        result = fit(
            _problem(), dp.nn.FullyConnected([1, 8, 1], "tanh"), phases=adam(1e-2),
            max_steps=steps, run_dir=tmp_path / name, eval_points=20, logger=False,
            field_mode="reverse", dtype=torch.float64, val_every=steps // 2 if steps == 40 else 15,
            trainer_options={"enable_progress_bar": False, "callbacks": [seen]}, **knobs,
        )
        return result, seen

    first, _ = run("part", 15)
    assert first.module.steps_per_batch == 5
    resumed, seen = run("part", 40, resume=str(tmp_path / "part"))
    assert resumed.module.steps_per_batch == 10 and seen.batches == [20, 30, 40]
    whole, _ = run("whole", 40)
    for a, b in zip(resumed.module.parameters(), whole.module.parameters(), strict=True):
        assert torch.equal(a, b)
