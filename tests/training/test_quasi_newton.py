"""Full-memory self-scaled quasi-Newton (SSBroyden, SSBFGS): convergence on analytic problems in
float64, its state in a checkpoint, a tiny PINN, the presets, and SOAP."""

from __future__ import annotations

import math

import pytest
import torch

import deepinn as dp
from deepinn._errors import ConfigurationError
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import OPTIMIZER_PRESETS, fit
from deepinn.training.optim._quasi_newton import METHODS, SelfScaledQuasiNewton, hessian_mib
from deepinn.training.settings._presets_second import (
    AdamSSBFGSConfig,
    AdamSSBroydenConfig,
    QuasiNewtonAfterAdam,
    SOAPConfig,
    SSBroydenConfig,
    adam_ssbroyden,
)


def _minimise(loss_of, x0, method, iterations=1, steps=400):
    x = torch.nn.Parameter(x0.clone())
    optimizer = SelfScaledQuasiNewton([x], method=method, iterations=iterations)

    def closure():
        optimizer.zero_grad()
        value = loss_of(x)
        value.backward()
        return value

    for _ in range(steps):
        optimizer.step(closure)
        if optimizer.stop_reason is not None:
            break
    return x.detach(), optimizer


def _rosenbrock(x):
    return (100 * (x[1::2] - x[::2] ** 2) ** 2 + (1 - x[::2]) ** 2).sum()


@pytest.mark.parametrize("method", METHODS)
def test_rosenbrock_converges_to_machine_precision_in_float64(method):
    x0 = torch.tensor([-1.2, 1.0] * 5, dtype=torch.float64)
    x, optimizer = _minimise(_rosenbrock, x0, method)
    assert (x - 1).abs().max() < 1e-10
    assert "tolerance_grad" in optimizer.stop_reason
    assert optimizer.stats["iterations"] < 150


@pytest.mark.parametrize("method", ["ssbroyden", "ssbfgs"])
def test_quadratic_converges_with_several_iterations_per_step(method):
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(30, 30, dtype=torch.float64, generator=generator)
    a = a @ a.T + torch.eye(30, dtype=torch.float64)
    minimum = torch.randn(30, dtype=torch.float64, generator=generator)
    x, optimizer = _minimise(
        lambda x: 0.5 * (x - minimum) @ a @ (x - minimum), torch.zeros(30, dtype=torch.float64),
        method, iterations=5, steps=60,
    )
    assert (x - minimum).abs().max() < 1e-9
    assert optimizer.stats["resets"] == 0


def test_the_inverse_hessian_stays_float64_through_a_float32_checkpoint():
    x = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float32))
    optimizer = SelfScaledQuasiNewton([x], method="ssbroyden")

    def closure():
        optimizer.zero_grad()
        value = _rosenbrock(x)
        value.backward()
        return value

    for _ in range(3):
        optimizer.step(closure)
    saved = optimizer.state_dict()
    again = SelfScaledQuasiNewton([x], method="ssbroyden")
    again.load_state_dict(saved)
    matrix = again.state[x]["H"]
    assert matrix.dtype == torch.float64
    assert torch.equal(matrix, optimizer.state[x]["H"])


def test_too_many_parameters_are_refused_naming_the_memory():
    with pytest.raises(ValueError, match="MiB dense inverse Hessian"):
        SelfScaledQuasiNewton([torch.nn.Parameter(torch.zeros(30))], max_parameters=10)
    assert hessian_mib(3021) == pytest.approx(69.6, abs=0.1)


def _poisson():
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 32),
                        residual=lambda f: -f.laplacian("u") / math.pi**2, source=exact)
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("poisson1d", interval, [pde, bc], exact=exact)


def _fit(phases, max_steps, **knobs):
    torch.manual_seed(0)
    net = dp.nn.FullyConnected([1, 12, 12, 1], "tanh")
    return fit(_poisson(), net, phases=phases, max_steps=max_steps, logger=False,
               trainer_options={"enable_progress_bar": False}, eval_points=200, threads=1,
               **knobs)


def test_a_tiny_pinn_reaches_a_low_error_after_adam_in_float64():
    result = _fit(adam_ssbroyden(adam_steps=100, lr=1e-2, iterations=5), 160)
    assert next(result.network.parameters()).dtype == torch.float64  # the phase's dtype switch
    assert result.metrics["rel_l2"] < 1e-5


@pytest.mark.filterwarnings("ignore:Optimizer phase 1 .SelfScaledQuasiNewton. starts at step")
def test_a_phase_that_stops_by_itself_hands_over_to_the_next():
    stalls = SSBroydenConfig(tolerance_grad=1e9, dtype=None).phase(steps=50)  # stops at once
    then = AdamSSBroydenConfig(adam_steps=5).phases(0)[1]
    result = _fit([stalls, then], 12)
    assert result.metrics["steps"] == 12  # the run went on past the stalled phase
    assert result.module._optimizers.ends == {0: 1}
    assert result.module._optimizers.index_at(1) == 1


def test_the_presets_are_registered_and_checked():
    for name in ("ssbroyden", "ssbfgs", "adam_ssbroyden", "adam_ssbfgs", "soap"):
        assert name in OPTIMIZER_PRESETS
    assert AdamSSBFGSConfig().quasi_newton.method == "ssbfgs"
    assert AdamSSBroydenConfig().quasi_newton.method == "ssbroyden"
    with pytest.raises(ConfigurationError, match="iterations"):
        SSBroydenConfig(iterations=0)
    with pytest.raises(ConfigurationError, match="dtype"):
        SSBroydenConfig(dtype="float16")


def test_soap_trains_a_tiny_pinn():
    pytest.importorskip("pytorch_optimizer", reason="the soap preset needs pytorch-optimizer")
    start = _fit(SOAPConfig(lr=1e-2).phases(0), 1).metrics["final_loss"]
    assert _fit(SOAPConfig(lr=1e-2).phases(0), 60).metrics["final_loss"] < 0.5 * start


def test_a_quasi_newton_name_that_is_no_update_is_refused():
    assert SSBroydenConfig(name="ssbfgs").method == "ssbfgs"
    with pytest.raises(ConfigurationError, match=r"'bfgs'.*ssbroyden.*quasi_newton\.name"):
        QuasiNewtonAfterAdam(name="bfgs")  # standalone: optimizer.name (test below)
    with pytest.raises(ConfigurationError, match="'ssbroyden2'"):
        AdamSSBroydenConfig(quasi_newton=SSBroydenConfig(name="ssbroyden2"))


def _reference_update(method, hess, s, y, g, alpha, first):
    """Urbán et al.'s SSBFGS / SSBroyden update of the inverse Hessian, written out densely."""
    n = len(s)
    ys = float(y @ s)
    hy = hess @ y
    yhy = float(y @ hy)
    h, b = yhy / ys, -alpha * float(s @ g) / ys
    if method == "ssbfgs":
        tau, theta = (float(y @ y) / ys if first else min(1.0, 1.0 / b)), 0.0
    else:
        a = b * h - 1.0
        rho_minus = min(1.0, h * (1.0 - math.sqrt(abs(a) / (1.0 + a))))
        theta = max((rho_minus - 1.0) / a, min(1.0 / rho_minus, (1.0 - b) / b))
        sigma = 1.0 + a * theta
        if first:
            tau = h / sigma
        elif theta <= 0:
            tau = min(min(1.0, 1.0 / b) * abs(sigma) ** (1.0 / (1 - n)), sigma)
        else:
            tau = min(1.0, 1.0 / b) * min(abs(sigma) ** (1.0 / (1 - n)), 1.0 / theta)
        theta = theta if method == "ssbroyden" else 0.0
    phi = (1.0 - theta) / (1.0 + (b * h - 1.0) * theta)
    v = s / ys - hy / yhy
    return (hess - torch.outer(hy, hy) / yhy + phi * yhy * torch.outer(v, v)) / tau + torch.outer(
        s, s
    ) / ys


@pytest.mark.parametrize("method", ["ssbroyden", "ssbfgs"])
@pytest.mark.parametrize("first", [True, False])
def test_one_update_matches_the_self_scaled_formulas(method, first):
    generator = torch.Generator().manual_seed(1)
    n = 6
    m = torch.randn(n, n, dtype=torch.float64, generator=generator)
    hess = m @ m.T / n + torch.eye(n, dtype=torch.float64)
    g = torch.randn(n, dtype=torch.float64, generator=generator)
    alpha = 0.7
    s = -alpha * (hess @ g)
    y = 1.3 * s + 0.2 * torch.randn(n, dtype=torch.float64, generator=generator)
    assert float(y @ s) > 0
    new_grad = g + y
    x = torch.nn.Parameter(torch.zeros(n, dtype=torch.float64))
    optimizer = SelfScaledQuasiNewton([x], method=method)
    state = {"H": hess.clone(), "updates": 0 if first else 3}
    h_new = hess @ new_grad
    hg_new = optimizer._update(state, s, y, hess @ y, alpha, g, new_grad, h_new)
    expected = _reference_update(method, hess, s, y, g, alpha, first)
    torch.testing.assert_close(state["H"], expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(hg_new, expected @ new_grad, rtol=1e-10, atol=1e-12)
    if method == "ssbroyden":  # a Broyden member other than BFGS on this step
        assert not torch.allclose(expected, _reference_update("ssbfgs", hess, s, y, g, alpha,
                                                              first))


def test_too_many_parameters_name_the_limit_and_the_l_bfgs_fix():
    from deepinn._errors import spoken_as

    with pytest.raises(ConfigurationError) as caught:
        SelfScaledQuasiNewton([torch.nn.Parameter(torch.zeros(30))], max_parameters=10)
    assert "max_parameters=10" in str(caught.value)
    assert "phases=deepinn.training.adam_lbfgs()" in str(caught.value)
    with spoken_as("cli"):
        assert "optimizer=adam_lbfgs" in str(caught.value)


def test_a_fractional_iteration_count_is_refused_naming_the_key():
    from deepinn.training.settings._presets_second import SSBroydenConfig

    with pytest.raises(ConfigurationError, match=r"iterations = 2\.5; use a whole number"):
        SSBroydenConfig(iterations=2.5)


@pytest.mark.parametrize("preset", ["adam_ssbroyden", "adam_ssbfgs"])
def test_the_settings_after_adam_are_named_by_their_full_key(preset):
    from omegaconf import OmegaConf

    node = OmegaConf.structured(OPTIMIZER_PRESETS[preset])
    assert node.quasi_newton.name == preset.removeprefix("adam_")
    for key, value in {"iterations": 0, "dtype": "float16", "max_seconds": -1.0}.items():
        broken = OmegaConf.merge(node, {"quasi_newton": {key: value}})
        with pytest.raises(ConfigurationError, match=rf"optimizer\.quasi_newton\.{key} = "):
            OmegaConf.to_object(broken)
    with pytest.raises(ConfigurationError, match=r"^optimizer\.iterations = 0"):
        SSBroydenConfig(iterations=0)


def test_an_unknown_update_is_refused_with_the_key_of_its_own_settings():
    with pytest.raises(ConfigurationError, match=r"e\.g\. optimizer\.name=ssbfgs\.$"):
        SSBroydenConfig(name="sbfgs")
    with pytest.raises(ConfigurationError, match=r"e\.g\. optimizer\.quasi_newton\.name=ssbfgs"):
        QuasiNewtonAfterAdam(name="sbfgs")
