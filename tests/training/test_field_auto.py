"""``field_mode=auto``: the loss times the Field modes ``lanes`` and ``reverse`` per group, once."""

from __future__ import annotations

import logging
import time

import pytest
import torch

from deepinn.nn import FullyConnected
from deepinn.plugins import load_registry
from deepinn.training import CollocationData, RunConfig, adam, fit
from deepinn.training.step._loss import PINNLoss
from deepinn.training.step._modes import field_mode_for, time_modes


def _case(name: str, params: dict, layers: list[int], dtype=torch.float64):
    registry = load_registry(strict=True)
    domain = registry.build("domains", "parallelogram")

    def make_sampler(d, n):
        return registry.build("samplers", "random", None, domain=d, n_points=n, seed=0)

    problem = registry.build("problems", name, params, domain=domain, make_sampler=make_sampler)
    torch.manual_seed(0)
    network = FullyConnected(layers, activation="tanh", bounds=None).to(dtype)
    run = RunConfig(eval_points=100, dtype=str(dtype).removeprefix("torch."))
    points = CollocationData(problem, run).global_points(0)
    return problem, network, points


CASES = {
    "poisson": ({"n_interior": 200, "n_boundary": 40}, [2, 16, 16, 1]),
    "burgers": ({"n_interior": 200, "n_boundary": 20, "n_initial": 20}, [2, 12, 12, 1]),
}


class SlowLanes(FullyConnected):
    """Forward lanes made slower than nested autograd by a sleep."""

    def forward_laplacian(self, x, second):
        time.sleep(0.15)
        return super().forward_laplacian(x, second)

    def forward_derivatives(self, x, second):
        time.sleep(0.15)
        return super().forward_derivatives(x, second)


class SlowPlainForward(FullyConnected):
    """The plain forward (what nested autograd differentiates) made slow by a sleep."""

    def forward(self, x):
        time.sleep(0.15)
        return super().forward(x)


@pytest.mark.parametrize(
    ("network_class", "expected"), [(SlowLanes, "reverse"), (SlowPlainForward, "lanes")]
)
def test_probe_chooses_the_faster_path_per_group(network_class, expected, caplog):
    problem, _, points = _case("poisson", *CASES["poisson"])
    torch.manual_seed(0)
    network = network_class([2, 8, 1], activation="tanh", bounds=None).to(torch.float64)
    loss = PINNLoss(problem, network, RunConfig(field_mode="auto"))
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        loss.choose_modes(points)
        loss(points)
    assert loss.group_modes == {"pde": expected}  # only the second-order group has a choice
    assert set(loss.mode_probe["pde"]) == {"lanes", "reverse"}
    assert sum("field_mode=auto" in r.message for r in caplog.records) == 1


def test_fit_probes_once_per_run(caplog):
    problem, network, _ = _case("burgers", *CASES["burgers"])
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        result = fit(
            problem, network, phases=adam(1e-3), max_steps=3, run_dir=None, dtype=torch.float64,
            val_every=3, eval_points=100, logger=False,
            trainer_options={"accelerator": "cpu", "devices": 1, "enable_progress_bar": False},
        )
    assert sum("field_mode=auto" in r.message for r in caplog.records) == 1
    assert set(result.module.loss.group_modes) == {"pde"}  # the run's loss uses the choice


def test_the_probe_leaves_gradients_alone():
    problem, network, points = _case("burgers", *CASES["burgers"])
    loss = PINNLoss(problem, network, RunConfig(field_mode="auto"))
    chosen = dict(loss.choose_modes(points))
    assert set(chosen) == {"pde"} and all(p.grad is None for p in network.parameters())
    loss(points)
    assert loss.group_modes == chosen


def test_a_loss_used_on_its_own_takes_the_lanes_until_probed():
    problem, network, points = _case("poisson", *CASES["poisson"])
    loss = PINNLoss(problem, network, RunConfig(field_mode="auto"))
    loss(points)
    assert loss.group_modes is None


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_explicit_modes_are_not_probed(mode):
    problem, network, points = _case("poisson", *CASES["poisson"])
    loss = PINNLoss(problem, network, RunConfig(field_mode=mode))
    assert loss.choose_modes(points) == {} and loss.mode_probe == {}


def _loss_and_gradients(problem, network, points, mode, forced=None):
    loss = PINNLoss(problem, network, RunConfig(field_mode=mode))
    if forced is not None:
        loss.group_modes = {"pde": forced}
    total, losses = loss(points)
    gradients = torch.autograd.grad(total, list(network.parameters()))
    return total.detach(), {k: v.detach() for k, v in losses.items()}, gradients


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_path_gives_the_same_losses_and_gradients_in_float64(case):
    problem, network, points = _case(case, *CASES[case])
    reference = _loss_and_gradients(problem, network, points, "reverse")
    for mode, forced in [("auto", "lanes"), ("auto", "reverse"), ("auto", None), ("forward", None)]:
        total, losses, gradients = _loss_and_gradients(problem, network, points, mode, forced)
        torch.testing.assert_close(total, reference[0], rtol=1e-10, atol=1e-10)
        for name, value in losses.items():
            torch.testing.assert_close(value, reference[1][name], rtol=1e-10, atol=1e-10)
        for got, want in zip(gradients, reference[2], strict=True):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_time_modes_leaves_out_a_mode_that_fails():
    x = torch.ones(3, requires_grad=True)

    def evaluate(mode):
        if mode == "reverse":
            raise RuntimeError("not for this residual")
        return (x**2).sum()

    chosen, seconds = time_modes(evaluate, [x])
    assert chosen == "lanes" and set(seconds) == {"lanes"}


def test_the_timed_choice_is_saved_in_checkpoints_and_restored_on_resume():
    from deepinn.training import PINNModule

    problem, network, points = _case("burgers", *CASES["burgers"])
    module = PINNModule(problem, network, adam())
    module.loss.choose_modes(points)
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    assert checkpoint["deepinn_group_modes"] == module.loss.group_modes
    resumed = PINNModule(problem, network, adam())
    flipped = {
        name: "reverse" if mode != "reverse" else "lanes"
        for name, mode in module.loss.group_modes.items()
    }
    resumed.on_load_checkpoint({"deepinn_group_modes": flipped})
    assert resumed.loss.group_modes == flipped  # not timed again: what the checkpoint says


@pytest.mark.parametrize(
    ("field_mode", "chosen", "expected"),
    [("auto", None, "lanes"), ("reverse", None, "reverse"), ("forward", None, "forward"),
     ("auto", "reverse", "reverse"), ("auto", "lanes", "lanes"),
     ("auto", "auto", "lanes")],  # a checkpoint's choice from before the Field mode had its name
)
def test_the_run_level_mode_becomes_a_field_mode(field_mode, chosen, expected):
    assert field_mode_for(field_mode, chosen) == expected
