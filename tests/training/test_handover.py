"""The hand-over to L-BFGS: a step that makes no progress (the loss unchanged, as after a first
steepest-descent step that changes nothing) restarts L-BFGS from a shorter first step instead of
stopping the run; only a restart that makes no progress either stops it."""

from __future__ import annotations

import torch

from deepinn.training.settings._optim import RESTART_STEP, LBFGSMonitor


def _lbfgs():
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    optimizer = torch.optim.LBFGS(
        [x], lr=1.0, max_iter=1, max_eval=25, line_search_fn="strong_wolfe",
        tolerance_grad=1e-30, tolerance_change=1e-15,
    )

    def closure():
        optimizer.zero_grad()
        value = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2  # far from converged in 4 steps
        value.backward()
        return value

    return optimizer, closure


def _step(optimizer, closure, monitor, reported_loss):
    """One L-BFGS step, judged as if the loss at its start had been ``reported_loss``."""
    before = optimizer.state[optimizer.param_groups[0]["params"][0]].get("n_iter", 0)
    optimizer.step(closure)
    return monitor.after_step(optimizer, before, reported_loss)


def test_an_unchanged_loss_restarts_from_a_shorter_step_instead_of_stopping():
    optimizer, closure = _lbfgs()
    monitor = LBFGSMonitor()
    assert _step(optimizer, closure, monitor, 1.0) is None
    # the first step changed nothing: formerly "converged: loss changed by 0.00e+00"
    assert _step(optimizer, closure, monitor, 1.0) is None
    assert monitor.restarted == 1
    assert optimizer.param_groups[0]["lr"] == RESTART_STEP  # the restart's first step is short
    assert "n_iter" not in optimizer.state[optimizer.param_groups[0]["params"][0]]
    # the restarted step ran; the usual step length is back, the stale step is not judged
    assert _step(optimizer, closure, monitor, 1.0) is None
    assert optimizer.param_groups[0]["lr"] == 1.0
    # the restart made progress: L-BFGS goes on, and a later stall restarts again
    assert _step(optimizer, closure, monitor, 0.5) is None
    assert monitor.restarted == 0


def test_a_restart_that_makes_no_progress_either_stops_the_run():
    optimizer, closure = _lbfgs()
    monitor = LBFGSMonitor()
    for loss in (1.0, 1.0, 1.0):
        assert _step(optimizer, closure, monitor, loss) is None
    reason = _step(optimizer, closure, monitor, 1.0)
    assert reason is not None
    assert "also after a restart along the steepest descent" in reason
    assert "loss changed by 0.00e+00" in reason


def test_the_restart_state_goes_into_the_checkpoint():
    from deepinn.training.step._phases import load_phase_state, save_phase_state

    monitor = LBFGSMonitor()
    monitor.loss, monitor.restarted, monitor.lr = 0.25, 1, 1.0
    checkpoint: dict = {}
    save_phase_state(checkpoint, monitor, {0: 7})
    again, ends = LBFGSMonitor(), {}
    load_phase_state(checkpoint, again, ends)
    assert (again.loss, again.restarted, again.lr) == (0.25, 1, 1.0)
    assert ends == {0: 7}
