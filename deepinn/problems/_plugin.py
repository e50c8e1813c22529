"""Built-in plugin: the problem library.

Every factory is ``factory(params, domain, make_sampler) -> Problem``. Problems with a fixed
geometry (laplace, heat, wave, burgers, allen_cahn, kovasznay, and the failure-mode suite
convection, reaction, wave_rathore) do not use ``domain``; poisson,
helmholtz and inverse_diffusion are posed on it; ``custom`` (a PDE written in configuration) also
takes ``registry`` to build its constraints by registered kind. Networks (including
``allen_cahn_net``, exactly periodic in x) are registered by the networks plugin.
"""

from __future__ import annotations

from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration
from deepinn.problems._allen_cahn import AllenCahnParams, build_allen_cahn
from deepinn.problems._burgers import BurgersParams, build_burgers
from deepinn.problems._failure_modes import (
    ConvectionParams,
    ReactionParams,
    WaveRathoreParams,
    build_convection,
    build_reaction,
    build_wave_rathore,
)
from deepinn.problems._heat import HeatParams, build_heat
from deepinn.problems._helmholtz import HelmholtzParams, build_helmholtz
from deepinn.problems._inverse_diffusion import InverseDiffusionParams, build_inverse_diffusion
from deepinn.problems._kovasznay import KovasznayParams, build_kovasznay
from deepinn.problems._laplace import LaplaceParams, build_laplace
from deepinn.problems._poisson import PoissonParams, build_poisson
from deepinn.problems._wave import WaveParams, build_wave
from deepinn.problems.custom import CustomParams, build_custom


@hookimpl
def deepinn_problems() -> list[Registration]:
    return [
        Registration(
            "poisson",
            build_poisson,
            PoissonParams,
            "-lap u = d pi^2 prod sin(pi x_i) on any 1-3-D domain, exact solution known",
        ),
        Registration(
            "laplace",
            build_laplace,
            LaplaceParams,
            "lap u = 0 on the unit square, u = 0 / 1 on x = 0 / 1, zero flux on y = 0, 1 (u = x)",
        ),
        Registration(
            "helmholtz",
            build_helmholtz,
            HelmholtzParams,
            "lap u + k^2 u = f on any 2-D domain, exact sin(pi x) sin(4 pi y)",
        ),
        Registration(
            "heat",
            build_heat,
            HeatParams,
            "u_t = alpha u_xx on [0, 1] x [0, T], exact exp(-alpha pi^2 t) sin(pi x)",
        ),
        Registration(
            "wave",
            build_wave,
            WaveParams,
            "u_tt = c^2 u_xx on [0, 1] x [0, T], exact standing wave, initial value and velocity",
        ),
        Registration(
            "burgers",
            build_burgers,
            BurgersParams,
            "u_t + u u_x = (0.01/pi) u_xx, u0 = -sin(pi x); Cole-Hopf reference",
        ),
        Registration(
            "allen_cahn",
            build_allen_cahn,
            AllenCahnParams,
            "u_t = 1e-4 u_xx - 5u^3 + 5u, periodic, u0 = x^2 cos(pi x); spectral reference",
        ),
        Registration(
            "kovasznay",
            build_kovasznay,
            KovasznayParams,
            "steady Navier-Stokes (Re = 20), outputs u, v, p, exact solution",
        ),
        Registration(
            "inverse_diffusion",
            build_inverse_diffusion,
            InverseDiffusionParams,
            "recover k in -k lap u = f from noisy observations of u (1-3-D domain)",
        ),
        Registration(
            "convection",
            build_convection,
            ConvectionParams,
            "u_t + beta u_x = 0, periodic on [0, 2 pi], u0 = sin x; exact sin(x - beta t)",
        ),
        Registration(
            "reaction",
            build_reaction,
            ReactionParams,
            "u_t = rho u (1 - u), periodic on [0, 2 pi], Gaussian u0; exact logistic solution",
        ),
        Registration(
            "wave_rathore",
            build_wave_rathore,
            WaveRathoreParams,
            "u_tt = 4 u_xx on [0, 1]^2, two modes, u_t(x, 0) = 0; exact solution",
        ),
        Registration(
            "custom",
            build_custom,
            CustomParams,
            "a PDE written in configuration: coordinates, outputs, parameters, constraints",
        ),
    ]
