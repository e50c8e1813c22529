"""The training step's backward and optimizer step without Lightning's wrappers: hooks still run."""

from __future__ import annotations

import math

import lightning.pytorch as pl
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
    assert callback.steps == list(range(1, 13))


def test_lbfgs_calls_the_hooks_at_every_closure_evaluation_as_lightning_does():
    callback = Counting()
    result = _fit(adam_lbfgs(adam_steps=3, lr=1e-3), 8, callback)
    backward = callback.calls["before_backward"]
    assert backward > 8  # the line search evaluates the closure more than once per step
    assert callback.calls["after_backward"] == backward
    assert callback.calls["before_optimizer_step"] == backward
    assert callback.steps[-1] == result.module.global_step <= 8


def test_the_direct_path_trains_exactly_as_lightnings_path(monkeypatch):
    from deepinn.training import _stepping

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
