"""Built-in plugin: the problem library."""

from __future__ import annotations

from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration
from deepinn.problems._poisson import PoissonParams, build_poisson


@hookimpl
def deepinn_problems() -> list[Registration]:
    return [
        Registration(
            "poisson",
            build_poisson,
            PoissonParams,
            "-lap u = d pi^2 prod sin(pi x_i) on any 1-3-D domain, exact solution known",
        ),
    ]
