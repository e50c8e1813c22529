"""The problem library: every exact or reference solution satisfies its problem's constraints.

Each problem is built through the registry; each constraint is sampled (in float64) and its
residual evaluated on a ``Field`` whose function is the exact solution. Burgers' reference is
checked through a float64 torch version of its Cole-Hopf formula (autograd residuals) that must
also reproduce the stored grid; Allen-Cahn's grid is checked with spectral x-derivatives and
finite differences in t.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepinn import ConfigurationError
from deepinn.operators import Field
from deepinn.plugins import load_registry
from deepinn.problems import Problem, load_grid_reference
from deepinn.problems._burgers import NU
from deepinn.problems._reference import DATA_DIR

LIBRARY = [
    "allen_cahn", "burgers", "convection", "heat", "helmholtz", "inverse_diffusion", "kovasznay",
    "laplace", "poisson", "reaction", "wave", "wave_rathore",
]
EXACT = [
    "convection", "heat", "helmholtz", "inverse_diffusion", "kovasznay", "laplace", "poisson",
    "reaction", "wave", "wave_rathore",
]


@pytest.fixture(autouse=True)
def float64():
    """Sample and evaluate in float64 so residuals of exact solutions are at round-off level."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _build(registry, name: str, domain: str = "parallelogram", params: object = None) -> Problem:
    def make_sampler(d, n):
        return registry.build("samplers", "random", None, domain=d, n_points=n, seed=7)

    built_domain = registry.build("domains", domain)
    return registry.build("problems", name, params, domain=built_domain, make_sampler=make_sampler)


def _residuals(problem: Problem, fn) -> dict[str, torch.Tensor]:
    """Each constraint's residual at its sampled points, for the network replaced by ``fn``."""
    out = {}
    for constraint in problem.constraints:
        batch = constraint.sample(torch.Generator().manual_seed(3))
        field = Field(fn, constraint.inputs(batch), problem.space, problem.outputs, mode="reverse")
        out[constraint.name] = constraint.checked_residual(field, batch).detach()
    return out


def test_the_library_is_registered(registry):
    assert set(LIBRARY) <= set(registry.names("problems"))


@pytest.mark.parametrize("name", LIBRARY)
def test_every_problem_builds_through_the_registry(name):
    problem = _build(load_registry(strict=True), name)
    assert problem.name == name and problem.has_solution
    points, values = problem.evaluation_set(500)
    assert points.shape[1] == problem.space.dim and values.shape[1] == len(problem.outputs)
    assert bool(problem.domain.contains(points).all())


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_every_constraint(registry, name):
    params = {"noise": 0.0} if name == "inverse_diffusion" else None
    problem = _build(registry, name, params=params)
    if problem.parameters:
        for key, value in problem.true_parameters.items():
            problem.parameters[key].data = torch.tensor([value])
    residuals = _residuals(problem, problem.exact)
    for constraint, residual in residuals.items():
        assert residual.abs().max() < 1e-10, (name, constraint, float(residual.abs().max()))


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("poisson", "interval"),
        ("poisson", "box"),
        ("helmholtz", "circle"),
        ("inverse_diffusion", "interval"),
    ],
)
def test_exact_solution_on_other_domains(registry, name, domain):
    params = {"noise": 0.0} if name == "inverse_diffusion" else None
    problem = _build(registry, name, domain, params)
    for parameter in problem.parameters.values():
        parameter.data = torch.tensor([2.0])
    for residual in _residuals(problem, problem.exact).values():
        assert residual.abs().max() < 1e-10


def test_kovasznay_solution_is_divergence_free_with_its_pressure_drop(registry):
    problem = _build(registry, "kovasznay")
    x = torch.tensor([[1.0, 0.3], [-0.5, 0.0]])
    u, _, p = problem.exact(x).unbind(1)
    lam = 10.0 - math.sqrt(100.0 + 4 * math.pi**2)
    assert float(p[0]) == pytest.approx(0.5 * (1 - math.exp(2 * lam)), rel=1e-14)
    assert float(u[1]) == pytest.approx(1 - math.exp(-0.5 * lam), rel=1e-14)


def test_heat_and_wave_exact_solutions_against_closed_forms(registry):
    x = torch.tensor([[0.25, 0.5]])
    heat = _build(registry, "heat", params={"alpha": 0.3}).exact(x)
    wave = _build(registry, "wave", params={"c": 2.0}).exact(x)
    assert float(heat) == pytest.approx(math.exp(-0.3 * math.pi**2 * 0.5) * math.sin(math.pi / 4))
    assert float(wave) == pytest.approx(
        math.sin(math.pi / 4) * (math.cos(math.pi) + math.sin(math.pi))
    )


# ---------------------------------------------------------------------------------- inverse
def test_inverse_problem_exposes_its_coefficient_and_noisy_data(registry):
    problem = _build(registry, "inverse_diffusion", params={"noise": 0.05, "n_data": 4000})
    assert isinstance(problem.parameters["k"], torch.nn.Parameter)
    assert float(problem.parameters["k"]) == 1.0 and problem.true_parameters == {"k": 2.0}
    noise = _residuals(problem, problem.exact)["data"]
    assert float(noise.mean()) == pytest.approx(0.0, abs=5e-3)
    assert float(noise.std()) == pytest.approx(0.05, rel=0.05)


def test_inverse_pde_residual_is_wrong_for_the_wrong_coefficient(registry):
    problem = _build(registry, "inverse_diffusion", params={"noise": 0.0})  # k starts at 1
    assert _residuals(problem, problem.exact)["pde"].abs().max() > 0.1


# ---------------------------------------------------------------------------------- burgers
def _cole_hopf(x: torch.Tensor) -> torch.Tensor:
    """Burgers' solution at (N, 2) points (x, t) by Cole-Hopf + Gauss-Hermite, differentiable."""
    z, w = (torch.as_tensor(a) for a in np.polynomial.hermite.hermgauss(200))
    s = torch.sqrt(4.0 * NU * x[:, 1:2])
    y = x[:, 0:1] - s * z
    log_terms = torch.log(w) - torch.cos(math.pi * y) / (2.0 * math.pi * NU)
    terms = torch.exp(log_terms - log_terms.max(dim=1, keepdim=True).values.detach())
    return -(torch.sin(math.pi * y) * terms).sum(1, keepdim=True) / terms.sum(1, keepdim=True)


def test_burgers_reference_grid_is_the_cole_hopf_solution():
    points, values = load_grid_reference("burgers")
    rows = torch.arange(0, len(points), 97)
    assert torch.allclose(_cole_hopf(points[rows]), values[rows], atol=1e-9, rtol=0)
    assert (DATA_DIR / "burgers.npz").stat().st_size < 1_000_000


def test_burgers_cole_hopf_solution_satisfies_every_constraint(registry):
    residuals = _residuals(_build(registry, "burgers"), _cole_hopf)
    assert residuals["boundary"].abs().max() < 1e-12
    assert residuals["initial"].abs().max() < 1e-12
    # u_t and u u_x reach O(10^2) at the front: 1e-6 is a relative error of ~1e-8
    assert residuals["pde"].abs().max() < 1e-6


def test_burgers_classic_front_slope(registry):
    x = torch.tensor([[0.0, 1.6037 / math.pi]], requires_grad=True)
    (slope,) = torch.autograd.grad(_cole_hopf(x).sum(), x)
    assert float(slope[0, 0]) == pytest.approx(-152.00516, abs=1e-5)


# ------------------------------------------------------------------------------- allen-cahn
def _allen_cahn_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(DATA_DIR / "allen_cahn.npz") as data:
        return data["x"], data["t"], data["u"].astype(np.float64)


def _fourier_in_x(x: np.ndarray, u: np.ndarray):
    """A torch function: the trigonometric interpolant in x, linear interpolation in t."""
    coefficients = torch.as_tensor(np.fft.rfft(u, axis=1) / u.shape[1])  # (n_t, modes)
    k = torch.arange(coefficients.shape[1], dtype=torch.float64) * math.pi
    weight = torch.full((coefficients.shape[1],), 2.0, dtype=torch.float64)
    weight[0] = weight[-1] = 1.0
    dt = 1.0 / (u.shape[0] - 1)

    def fn(points: torch.Tensor) -> torch.Tensor:
        i = torch.clamp((points[:, 1] / dt).floor().long(), 0, u.shape[0] - 2)
        theta = (points[:, 1:2] - i.unsqueeze(1) * dt) / dt
        c = (1 - theta) * coefficients[i] + theta * coefficients[i + 1]
        phase = k * (points[:, 0:1] + 1.0)  # the grid starts at x = -1
        return (weight * (c.real * torch.cos(phase) - c.imag * torch.sin(phase))).sum(
            1, keepdim=True
        )

    return fn


def test_allen_cahn_reference_grid_satisfies_the_pde():
    x, t, u = _allen_cahn_grid()
    k = np.fft.rfftfreq(len(x), d=1.0 / len(x)) * math.pi
    u_xx = np.fft.irfft(-(k**2) * np.fft.rfft(u, axis=1), n=len(x), axis=1)
    dt = t[1] - t[0]
    interior = slice(2, -2)  # fourth-order central differences in t
    u_t = (u[:-4] - 8 * u[1:-3] + 8 * u[3:-1] - u[4:]) / (12 * dt)
    residual = u_t - 1e-4 * u_xx[interior] + 5 * u[interior] ** 3 - 5 * u[interior]
    reaction = 5 * np.abs(u[interior] - u[interior] ** 3).max()
    assert np.sqrt(np.mean(residual**2)) < 5e-4 * reaction  # measured: 5e-5


def test_allen_cahn_reference_satisfies_initial_and_periodic_conditions(registry):
    x, t, u = _allen_cahn_grid()
    assert np.abs(u[0] - x**2 * np.cos(math.pi * x)).max() < 1e-6  # stored in float32
    assert x[0] == -1.0 and len(t) == 201 and u.shape == (201, 512)
    residuals = _residuals(_build(registry, "allen_cahn"), _fourier_in_x(x, u))
    assert residuals["periodic"].abs().max() < 1e-9


def test_allen_cahn_initial_condition_is_its_stated_function(registry):
    problem = _build(registry, "allen_cahn")
    initial = next(c for c in problem.constraints if c.name == "initial")
    batch = initial.sample(torch.Generator().manual_seed(0))
    assert torch.allclose(
        batch["target"], batch["x"][:, :1] ** 2 * torch.cos(math.pi * batch["x"][:, :1])
    )
    assert bool((batch["x"][:, 1] == 0).all())


# ---------------------------------------------------------------------------------- errors
def test_helmholtz_on_a_1d_domain_names_the_dimension_and_the_choices(registry):
    with pytest.raises(
        ConfigurationError, match=r"'helmholtz' needs a 2-D domain.*dimension 1.*parallelogram"
    ):
        _build(registry, "helmholtz", "interval")


def test_poisson_on_an_unsupported_dimension_is_an_error(registry):
    class FourD:
        dim = 4

    with pytest.raises(ConfigurationError, match="dimension 4"):
        registry.build("problems", "poisson", None, domain=FourD(), make_sampler=None)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("heat", {"alpha": -1.0}, "alpha = -1.0"),
        ("wave", {"n_initial": 0}, "n_initial = 0"),
        ("laplace", {"n_dirichlet": 1}, "n_dirichlet = 1"),
        ("inverse_diffusion", {"noise": -0.1}, "noise = -0.1"),
        ("kovasznay", {"reynolds": 0.0}, "reynolds = 0.0"),
    ],
)
def test_bad_parameters_are_rejected_with_the_value(registry, name, params, match):
    with pytest.raises(ConfigurationError, match=match):
        _build(registry, name, params=params)


def test_unknown_weight_names_the_constraints(registry):
    with pytest.raises(
        ConfigurationError, match=r"no constraint 'bc'.*\['boundary', 'initial', 'pde'\]"
    ):
        _build(registry, "burgers", params={"weights": {"bc": 2.0}})


def test_weights_are_applied_by_constraint_name(registry):
    problem = _build(registry, "allen_cahn", params={"weights": {"initial": 100.0}})
    assert {c.name: c.weight for c in problem.constraints} == {
        "pde": 1.0,
        "periodic": 1.0,
        "initial": 100.0,
    }


# ---------------------------------------------------------------------- allen_cahn_net
def _allen_cahn_net(registry, **params):
    return registry.build(
        "networks", "allen_cahn_net", {"hidden": [8, 8], **params}, in_dim=2, out_dim=1, bounds=None
    )


def test_allen_cahn_net_is_periodic_in_x_with_its_derivatives(registry):
    net = _allen_cahn_net(registry, frequencies=2).double()
    t = torch.rand(5, 1, generator=torch.Generator().manual_seed(0))
    left = torch.cat([-torch.ones(5, 1), t], 1).requires_grad_(True)
    right = torch.cat([torch.ones(5, 1), t], 1).requires_grad_(True)
    u_left, u_right = net(left), net(right)
    (g_left,) = torch.autograd.grad(u_left.sum(), left)
    (g_right,) = torch.autograd.grad(u_right.sum(), right)
    assert torch.allclose(u_left, u_right, atol=1e-12) and torch.allclose(
        g_left, g_right, atol=1e-12
    )


def test_allen_cahn_net_hard_initial_condition_holds_at_t0(registry):
    net = _allen_cahn_net(registry, hard_initial=True).double()
    x = torch.cat([torch.linspace(-1, 1, 9).unsqueeze(1), torch.zeros(9, 1)], 1)
    assert torch.allclose(net(x), x[:, :1] ** 2 * torch.cos(math.pi * x[:, :1]), atol=1e-14)


def test_allen_cahn_net_rejects_other_problems_shapes(registry):
    with pytest.raises(ConfigurationError, match="in_dim=3"):
        registry.build("networks", "allen_cahn_net", None, in_dim=3, out_dim=1, bounds=None)


# ---- a problem written in Python: bad arguments are refused when it is built -----------------


def _poisson_1d(**options):
    import deepinn as dp

    interval = dp.domains.Interval(dp.spaces.R1("x"), -1.0, 1.0)
    pde = dp.constraints.PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(interval, 16, seed=0),
        residual=lambda f: f.derivative("u", "x", "x"),
    )
    bc = dp.constraints.DirichletBC(
        "bc", dp.samplers.GridSampler(interval.boundary, 2), value=lambda x: 0 * x
    )
    arguments = {"name": "p", "domain": interval, "constraints": [pde, bc]} | options
    return Problem(**arguments)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"name": ""}, "non-empty string"),
        ({"domain": "interval"}, "not a domain"),
        ({"constraints": ["pde"]}, "not a constraint"),
        ({"outputs": ()}, "output names"),
        ({"outputs": ("u", "u")}, "twice"),
        (
            {"outputs": ("v",)},
            r"constraint 'bc' is on output\(s\) \['u'\], but the problem's outputs",
        ),
        ({"exact": 3.0}, "not callable"),
        ({"exact": torch.sin, "reference": (torch.zeros(2, 1), torch.zeros(2, 1))}, "give one"),
        ({"reference": torch.zeros(3, 1)}, "pair"),
        ({"reference": (torch.zeros(3, 2), torch.zeros(3, 1))}, r"\(N, 1\)"),
        ({"reference": (torch.zeros(3, 1), torch.zeros(4, 1))}, r"must be \(3, 1\)"),
        ({"reference": (torch.zeros(3, 1), torch.tensor([0.0, math.nan, 1.0]))}, "not finite"),
        (
            {"reference": (torch.tensor([[0.0], [math.nan]]), torch.zeros(2, 1))},
            "points are not all finite",
        ),
        ({"reference": (torch.full((3, 1), 5.0), torch.zeros(3, 1))}, "lie outside the domain"),
    ],
)
def test_a_bad_problem_argument_is_refused_naming_it(options, match):
    with pytest.raises(ConfigurationError, match=match):
        _poisson_1d(**options)


def test_a_reference_column_for_one_output_is_taken_as_n_by_1():
    problem = _poisson_1d(reference=(torch.linspace(-1, 1, 5), torch.zeros(5)))
    points, values = problem.evaluation_set()
    assert points.shape == (5, 1) and values.shape == (5, 1)


@pytest.mark.parametrize(
    ("exact", "match"),
    [
        (lambda x: x.repeat(1, 2), r"shape \(10, 2\) for 10 points; it must be \(10, 1\)"),
        (lambda x: x.sum(), r"shape \(\)"),
        (lambda x: torch.log(x), "not finite at"),
        (lambda x: 1 / 0, "exact\\(x\\) failed .*ZeroDivisionError"),
    ],
)
def test_a_bad_exact_solution_is_refused_when_the_error_set_is_built(exact, match):
    problem = _poisson_1d(exact=exact)
    with pytest.raises(ConfigurationError, match=match):
        problem.evaluation_set(10)


def test_the_error_against_a_zero_solution_is_the_rms_error_whatever_the_point_count():
    from deepinn.training.service._metrics import relative_l2

    for n in (100, 10_000):
        assert float(relative_l2(torch.full((n, 1), 0.5), torch.zeros(n, 1))) == pytest.approx(0.5)
