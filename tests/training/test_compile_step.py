"""The whole loss under one torch.compile (CompiledLoss): same losses, gradients; eager fallback."""

from __future__ import annotations

import logging

import pytest
import torch

import deepinn as dp
from deepinn.problems._poisson import PoissonParams, build_poisson
from deepinn.training import AUTO_COMPILE_STEPS, CollocationData, RunConfig
from deepinn.training.step._compile import CompiledGradient, CompiledLoss
from deepinn.training.step._loss import PINNLoss


def _setup(dtype=torch.float32):
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    problem = build_poisson(
        PoissonParams(n_interior=64, n_boundary=16), square,
        lambda domain, n: dp.samplers.RandomUniformSampler(domain, n, seed=0),
    )
    torch.manual_seed(0)
    net = dp.nn.FullyConnected([2, 8, 8, 1], "tanh", bounds=None, dtype=dtype)
    points = CollocationData(problem, RunConfig(dtype=dtype)).global_points(0)
    return problem, net, points


@pytest.fixture
def pays_back(monkeypatch):
    """compile=auto compiles the tests' tiny loss from AUTO_COMPILE_STEPS steps on."""
    from deepinn.training.settings import _settings as settings_module

    monkeypatch.setattr(settings_module, "COLD_COMPILE_S", 0.0)


def _total_and_grads(call, net, points):
    total, losses = call(points)
    grads = torch.autograd.grad(total, list(net.parameters()))
    return total.detach(), {k: v.detach() for k, v in losses.items()}, grads


def _without_a_compiler(monkeypatch):
    def broken(function, **kwargs):
        def fail(*args):
            raise RuntimeError("no C++ compiler found")

        return fail

    monkeypatch.setattr(torch, "compile", broken)


def test_a_failing_compile_falls_back_to_eager_with_a_warning(monkeypatch):
    problem, net, points = _setup(torch.float64)
    _without_a_compiler(monkeypatch)
    loss = PINNLoss(problem, net)
    compiled = CompiledLoss(loss)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler found"):
        got = _total_and_grads(compiled, net, points)
    want = _total_and_grads(loss, net, points)
    assert compiled.failure is not None and got[0] == want[0]
    for a, b in zip(got[2], want[2], strict=True):
        assert torch.equal(a, b)


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_the_compiled_whole_loss_equals_the_eager_loss_and_reports_its_warm_up():
    problem, net, points = _setup()
    loss = PINNLoss(problem, net)
    compiled = CompiledLoss(loss)
    got = _total_and_grads(compiled, net, points)
    if compiled.failure is not None:
        pytest.skip(f"torch.compile unavailable here: {compiled.failure}")
    want = _total_and_grads(loss, net, points)
    torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-7)
    for name, value in want[1].items():
        torch.testing.assert_close(got[1][name], value, rtol=1e-5, atol=1e-7)
    for a, b in zip(got[2], want[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert compiled.warmup_s > 0


def test_compile_keeps_the_network_passes_when_the_residuals_take_nested_autograd(caplog):
    problem, net, points = _setup(torch.float64)
    loss = PINNLoss(problem, net, RunConfig(field_mode="reverse", compile=True))
    with caplog.at_level("INFO", logger="deepinn.training"):
        loss.choose_modes(points)
    assert loss.whole is None and len(loss.compiled) == 2
    assert "nested autograd.grad" in caplog.text


def test_compile_decides_again_on_resume():
    # A checkpoint's saved probe choice must not skip the whole-loss decision under compile.
    from deepinn.training import PINNModule, adam

    problem, net, _ = _setup(torch.float64)
    module = PINNModule(problem, net, adam(), RunConfig(compile=True))
    module.on_load_checkpoint({"deepinn_group_modes": {"pde": "reverse"}})
    assert module.loss.group_modes is None  # so the first batch decides again


def test_compile_auto_on_resume_takes_the_saved_modes_when_the_whole_loss_cannot_compile(
    caplog, pays_back
):
    from deepinn.training import PINNModule, adam

    problem, net, points = _setup(torch.float64)
    module = PINNModule(
        problem, net, adam(), RunConfig(field_mode="reverse"), max_steps=AUTO_COMPILE_STEPS
    )
    module.on_load_checkpoint({"deepinn_group_modes": {"pde": "reverse"}})
    assert module.loss.group_modes is None and module.loss.saved_modes == {"pde": "reverse"}
    with caplog.at_level("INFO", logger="deepinn.training"):
        assert module.loss.choose_modes(points) == {"pde": "reverse"}
    assert module.loss.whole is None and module.loss.mode_probe == {}  # no probe run again


def test_compile_auto_stays_eager_without_a_warning_where_residuals_take_nested_autograd(
    caplog, pays_back
):
    import warnings

    problem, net, points = _setup(torch.float64)
    loss = PINNLoss(problem, net, RunConfig(field_mode="reverse"), max_steps=AUTO_COMPILE_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level("INFO", logger="deepinn.training"):
            loss.choose_modes(points)
    assert loss.whole is None and loss.compiled is None
    assert "compile=auto: the loss runs eager" in caplog.text


def test_compile_auto_falls_back_quietly_where_torch_compile_fails(monkeypatch, caplog, pays_back):
    import warnings

    _without_a_compiler(monkeypatch)
    problem, net, points = _setup(torch.float64)
    loss = PINNLoss(problem, net, RunConfig(), max_steps=AUTO_COMPILE_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level("INFO", logger="deepinn.training"):
            modes = loss.choose_modes(points)
    assert loss.whole is None and loss.compiled is None
    assert "no C++ compiler found" in caplog.text
    assert modes == {"pde": modes["pde"]} and loss.mode_probe  # field_mode=auto's probe ran
    eager = PINNLoss(problem, net, RunConfig(compile=False))
    eager.group_modes = modes
    torch.testing.assert_close(loss(points)[0], eager(points)[0], rtol=0, atol=0)


@pytest.mark.parametrize("value", [1, "yes", None, 0.5])
def test_a_bad_compile_value_names_the_choices(value):
    from deepinn import ConfigurationError
    from deepinn.training import RunConfig

    for build in (lambda: RunConfig(compile=value), lambda: RunConfig().replace(compile=value)):
        with pytest.raises(ConfigurationError, match=r"compile = .*use true, false or auto"):
            build()


def test_compile_auto_is_the_default_and_compiles_only_runs_of_enough_steps(monkeypatch):
    from deepinn.training import RunConfig, fit
    from deepinn.training.settings import _settings as settings_module

    assert RunConfig().compile == "auto"
    assert RunConfig().compile_mode(AUTO_COMPILE_STEPS - 1) is False
    assert RunConfig().compile_mode(AUTO_COMPILE_STEPS) == "auto"
    assert RunConfig().compile_mode(None) is False  # a loss of no known length runs eager
    assert RunConfig(compile=True).compile_mode(1) is True
    problem, net, _ = _setup(torch.float64)
    short = fit(problem, net, max_steps=3, run_dir=None, logger=False, eval_points=50)
    assert short.module.loss.compile is False and short.module.compiled is None
    monkeypatch.setattr(settings_module, "AUTO_COMPILE_STEPS", 3)
    monkeypatch.setattr(settings_module, "COLD_COMPILE_S", 0.0)  # any size pays back
    long = fit(problem, net, max_steps=3, run_dir=None, logger=False, eval_points=50,
               field_mode="reverse")  # nested autograd: auto decides on the first batch, eager
    assert long.module.loss.compile == "auto" and long.module.compiled is None


def test_compile_auto_pays_back_a_cold_compile_per_problem_size():
    from deepinn.training.settings._settings import auto_compile_steps

    p1, p2 = 7851 * 2400, 921 * 2780  # bench/speed.py's P1 and P2: parameters x points
    assert 1000 < auto_compile_steps(p1) <= 5000  # a cold compile pays back on 5000 P1 steps
    assert 5000 < auto_compile_steps(p2) <= 10000  # P2 saves less a step: later
    assert auto_compile_steps(10**12) == AUTO_COMPILE_STEPS  # never below the floor
    assert auto_compile_steps(0) > auto_compile_steps(p2)  # a tiny loss saves the least
    run = RunConfig()
    assert run.compile_mode(5000, p1) == "auto" and run.compile_mode(5000, p2) is False
    assert run.compile_mode(1000, p1) is False
    assert run.compile_mode(10000, p2) == "auto"
    assert RunConfig(compile=False).compile_mode(10**6, p1) is False
    assert RunConfig(compile=True).compile_mode(1, p2) is True


def test_compile_auto_leaves_a_short_run_of_a_small_loss_eager(caplog):
    from deepinn.training import fit

    problem, net, _ = _setup(torch.float64)
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        run = fit(problem, net, max_steps=AUTO_COMPILE_STEPS, run_dir=None, logger=False,
                  eval_points=50, val_every=AUTO_COMPILE_STEPS, compile="auto")
    assert run.module.loss.compile is False and run.module.compiled is None
    assert "would not pay back a compile of this size" in caplog.text


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_compile_auto_compiles_the_whole_loss_of_a_long_enough_run(monkeypatch):
    import copy

    from deepinn.training import fit
    from deepinn.training.settings import _settings as settings_module

    problem, net, _ = _setup()
    monkeypatch.setattr(settings_module, "AUTO_COMPILE_STEPS", 20)
    monkeypatch.setattr(settings_module, "COLD_COMPILE_S", 0.0)  # any size pays back
    runs = {
        mode: fit(problem, copy.deepcopy(net), max_steps=20, run_dir=None, logger=False,
                  eval_points=50, compile=mode)
        for mode in ("auto", False)
    }
    whole = runs["auto"].module.loss.whole
    if whole is not None and whole.failure is not None:
        pytest.skip(f"torch.compile unavailable here: {whole.failure}")
    assert whole is not None and runs["auto"].module.compiled == (whole,)
    assert isinstance(whole, CompiledGradient)  # fit takes the gradient from the same graph
    assert runs["auto"].metrics["compiled"] == {"what": "whole loss and its gradient",
                                                "warmup_s": round(whole.warmup_s, 3)}
    assert "compiled" not in runs[False].metrics
    from deepinn.app._summary import summary

    assert "compiled    the whole loss and its gradient (warm-up" in summary(
        runs["auto"].metrics, "run"
    )
    assert runs["auto"].metrics["rel_l2"] == pytest.approx(runs[False].metrics["rel_l2"], rel=1e-3)


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_compile_true_compiles_the_whole_loss_where_the_lanes_give_every_derivative(caplog):
    problem, net, points = _setup()
    eager = PINNLoss(problem, net)
    loss = PINNLoss(problem, net, RunConfig(compile=True))
    with caplog.at_level("INFO", logger="deepinn.training"):
        loss.choose_modes(points)
    assert loss.whole is not None and loss.compiled == (loss.whole,)
    assert "the whole loss" in caplog.text
    got = _total_and_grads(loss, net, points)
    if loss.whole.failure is not None:
        pytest.skip(f"torch.compile unavailable here: {loss.whole.failure}")
    want = _total_and_grads(eager, net, points)
    torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-7)
    for a, b in zip(got[2], want[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert loss.whole.warmup_s > 0


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_the_whole_loss_compiles_to_one_graph_without_breaks():
    # Each group of constraints (here the PDE's and the boundary's) builds a Field on its points;
    # a requires_grad_ on them inside the graph would split it, one piece per group.
    from torch._dynamo.utils import counters

    problem, net, points = _setup()
    torch.compiler.reset()  # trace anew: a graph cached by another test would count nothing
    graphs, breaks = counters["stats"]["unique_graphs"], sum(counters["graph_break"].values())
    loss = PINNLoss(problem, net, RunConfig(compile=True))
    loss.choose_modes(points)
    loss(points)[0].backward()
    if loss.whole is None or loss.whole.failure is not None:
        pytest.skip("torch.compile unavailable here")
    assert counters["stats"]["unique_graphs"] - graphs == 1
    assert sum(counters["graph_break"].values()) - breaks == 0


@pytest.mark.slow
def test_a_residual_that_takes_its_own_autograd_grad_falls_back_to_the_network_passes():
    # The derivative cache does not see this grad: the trial compile of the whole loss and its
    # gradient fails (no double backward through a compiled graph) and says so.
    from deepinn.constraints import PDEConstraint

    problem, net, points = _setup()

    def own_grad(field):
        u = field["u"]
        (du,) = torch.autograd.grad(u.sum(), field.x, create_graph=True)
        return du[:, :1] - 1.0

    pde = next(c for c in problem.constraints if c.name == "pde")
    custom = PDEConstraint("pde", pde.sampler, residual=own_grad, second_order=("x",))
    problem = dp.Problem("own_grad", problem.domain, [custom], outputs=("u",))
    loss = PINNLoss(problem, net, RunConfig(compile=True))
    with pytest.warns(RuntimeWarning, match="the whole loss cannot be compiled"):
        loss.choose_modes({"pde": points["pde"]})
    assert loss.whole is None and len(loss.compiled) == 2


@pytest.mark.slow
def test_grad_norm_weighting_differentiates_each_term_of_the_compiled_whole_loss():
    """grad_norm takes each term's gradient with retain_graph=True, then the step's backward runs:
    the compiled backward must allow both (no donated buffers), also when nothing is cached."""
    import torch._functorch.config as functorch_config
    import torch._inductor.config as inductor_config

    # torch's config modules are changed through their own patch(), which restores them
    with (
        functorch_config.patch(enable_autograd_cache=False),
        inductor_config.patch(fx_graph_cache=False),
    ):
        _per_term_gradients_then_the_total()


def _per_term_gradients_then_the_total() -> None:
    from deepinn.training.toolbox._weighting import LossWeighting, WeightingConfig

    problem, net, points = _setup()
    loss = PINNLoss(problem, net)
    compiled = CompiledLoss(loss)
    parameters = list(net.parameters())
    compiled.warm_up(parameters, points)
    if compiled.failure is not None:
        pytest.skip(f"torch.compile unavailable here: {compiled.failure}")
    total, losses = compiled(points)
    balancer = LossWeighting(WeightingConfig(name="grad_norm"), list(losses), [1.0] * len(losses))
    norms = balancer.gradient_norms(losses, parameters)
    total.backward()
    _, eager_losses = loss(points)
    want = balancer.gradient_norms(eager_losses, parameters)
    torch.testing.assert_close(norms, want, rtol=1e-4, atol=1e-6)
    eager_grads = torch.autograd.grad(sum(eager_losses.values()), parameters)
    for parameter, eager in zip(parameters, eager_grads, strict=True):
        torch.testing.assert_close(parameter.grad, eager, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- the loss and its gradient
def test_a_failing_compile_of_the_loss_and_gradient_falls_back_to_eager(monkeypatch):
    problem, net, points = _setup(torch.float64)
    _without_a_compiler(monkeypatch)
    loss = PINNLoss(problem, net)
    compiled = CompiledGradient(loss)
    parameters = list(net.parameters())
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler found"):
        total, losses, gradients = compiled(parameters, points)
    want = _total_and_grads(loss, net, points)
    assert compiled.failure is not None and total == want[0] and not total.requires_grad
    assert losses == want[1]
    for a, b in zip(gradients, want[2], strict=True):
        assert torch.equal(a, b)


def test_loss_and_gradient_without_a_compiled_graph_is_the_eager_backward():
    problem, net, points = _setup(torch.float64)
    loss = PINNLoss(problem, net)
    parameters = list(net.parameters())
    total, losses, gradients = loss.loss_and_gradient(points, None, parameters)
    want = _total_and_grads(loss, net, points)
    assert total == want[0] and not total.requires_grad and losses == want[1]
    for a, b in zip(gradients, want[2], strict=True):
        assert torch.equal(a, b)


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_the_loss_and_gradient_compile_to_one_graph_equal_to_the_eager_backward():
    from torch._dynamo.utils import counters

    problem, net, points = _setup()
    parameters = list(net.parameters())
    torch.compiler.reset()
    graphs, breaks = counters["stats"]["unique_graphs"], sum(counters["graph_break"].values())
    loss = PINNLoss(problem, net, RunConfig(compile=True))
    loss.choose_modes(points, parameters=parameters)
    if loss.whole is None or loss.whole.failure is not None:
        pytest.skip("torch.compile unavailable here")
    assert isinstance(loss.whole, CompiledGradient) and loss.compiled == (loss.whole,)
    assert loss.whole.warmup_s > 0
    total, losses, gradients = loss.loss_and_gradient(points, None, parameters)
    assert counters["stats"]["unique_graphs"] - graphs == 1  # forward and gradient together
    assert sum(counters["graph_break"].values()) - breaks == 0
    want = _total_and_grads(PINNLoss(problem, net), net, points)
    torch.testing.assert_close(total, want[0], rtol=1e-5, atol=1e-7)
    for name, value in want[1].items():
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7)
    for a, b in zip(gradients, want[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert all(p.grad is None for p in parameters)  # the caller writes .grad


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_the_compiled_gradient_reaches_a_coefficient_of_an_inverse_problem():
    import math

    from deepinn.constraints import DataConstraint, PDEConstraint

    torch.manual_seed(0)
    space = dp.spaces.R1("x")
    interval = dp.domains.Interval(space, 0.0, 1.0)
    k = torch.nn.Parameter(torch.tensor(1.5))
    x_obs = torch.linspace(0, 1, 20).unsqueeze(1)
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 32),
                        residual=lambda f: -k * f.laplacian("u") / math.pi**2,
                        source=lambda x: 2.0 * torch.sin(math.pi * x))
    data = DataConstraint("data", space, x_obs, torch.sin(math.pi * x_obs))
    problem = dp.Problem("inverse", interval, [pde, data], parameters={"k": k})
    net = dp.nn.FullyConnected([1, 8, 8, 1], "tanh", bounds=None)
    points = CollocationData(problem).global_points(0)
    parameters = [*net.parameters(), k]
    loss = PINNLoss(problem, net, RunConfig(compile=True))
    loss.choose_modes(points, parameters=parameters)
    if loss.whole is None or loss.whole.failure is not None:
        pytest.skip("torch.compile unavailable here")
    _total, _, gradients = loss.loss_and_gradient(points, None, parameters)
    eager_total, _ = PINNLoss(problem, net)(points)
    want = torch.autograd.grad(eager_total, parameters)
    assert gradients[-1] is not None and float(want[-1].abs()) > 0
    for a, b in zip(gradients, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_fit_compiles_the_gradient_only_without_loss_weighting():
    # grad_norm differentiates each term of the loss: it needs the graph, so the whole loss is
    # compiled alone and the backward runs through autograd.
    import copy

    from deepinn.training import fit
    from deepinn.training.toolbox._weighting import WeightingConfig

    problem, net, _ = _setup()
    runs = {
        name: fit(problem, copy.deepcopy(net), max_steps=20, run_dir=None, logger=False,
                  eval_points=50, compile=True, weighting=WeightingConfig(name=name, every=5))
        for name in ("none", "grad_norm")
    }
    whole = {name: run.module.loss.whole for name, run in runs.items()}
    if any(w is None or w.failure is not None for w in whole.values()):
        pytest.skip("torch.compile unavailable here")
    assert isinstance(whole["none"], CompiledGradient)
    assert type(whole["grad_norm"]) is CompiledLoss
    assert runs["grad_norm"].metrics["compiled"]["what"] == "whole loss"


def test_compile_settings_hold_inside_the_block_and_are_restored_after_it():
    import torch._dynamo.config as dynamo_config
    import torch._functorch.config as functorch_config

    from deepinn.training.step._compile import NO_DONATED_BUFFERS, _Settings

    before = (dynamo_config.trace_autograd_ops, functorch_config.donated_buffer)
    settings = _Settings((*NO_DONATED_BUFFERS, (dynamo_config, "trace_autograd_ops", True)))
    with pytest.raises(RuntimeError, match="inside"), settings:
        with settings:  # entered again inside: restored to the outer block's values
            pass
        assert dynamo_config.trace_autograd_ops is True
        assert functorch_config.donated_buffer is False
        raise RuntimeError("inside")
    assert (dynamo_config.trace_autograd_ops, functorch_config.donated_buffer) == before


def test_the_cpu_compile_skips_inductors_instruction_probe_unless_the_user_set_it(monkeypatch):
    """cpp_wrapper always; ``cpp.vec_isa_ok`` True only where TORCHINDUCTOR_VEC_ISA_OK left it
    unset (None): the user's choice is kept."""
    import torch._inductor.config as inductor

    from deepinn.training.step._compile import cpu_settings

    monkeypatch.setattr(inductor.cpp, "vec_isa_ok", None)
    assert {(name, value) for _, name, value in cpu_settings()} == {
        ("cpp_wrapper", True), ("vec_isa_ok", True)
    }
    monkeypatch.setattr(inductor.cpp, "vec_isa_ok", False)
    assert [(name, value) for _, name, value in cpu_settings()] == [("cpp_wrapper", True)]
