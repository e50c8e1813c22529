"""Built-in plugin: the constraint types.

A constraint's residual is code (a function of the network's ``Field``) or an expression of a
configured problem, so these registrations carry the parameter a configuration sets on every
constraint — the weight — and the factory takes the rest as keyword context:
``factory(params, *, name, sampler, residual=..., value=..., ...)``. Where the points come from
and how many there are is the sampler's business (``sampler`` in the context).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from deepinn._errors import ConfigurationError
from deepinn.constraints._boundary import DirichletBC, NeumannBC, PeriodicBC, RobinBC
from deepinn.constraints._data import DataConstraint
from deepinn.constraints._initial import InitialCondition
from deepinn.constraints._pde import PDEConstraint
from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration


@dataclass
class ConstraintParams:
    """Parameters every constraint takes from a configuration."""

    weight: float = 1.0

    def __post_init__(self) -> None:
        if not (self.weight >= 0 and math.isfinite(self.weight)):
            raise ConfigurationError(
                f"weight = {self.weight}; use a finite weight >= 0 (0 switches the term off)."
            )


def _builder(cls: type) -> Any:
    def build(params: ConstraintParams, **context: Any) -> Any:
        return cls(weight=params.weight, **context)

    build.__name__ = f"build_{cls.__name__}"
    return build


_SUMMARIES = {
    "pde": (PDEConstraint, "PDE residual at interior collocation points"),
    "dirichlet": (DirichletBC, "prescribed values u = g"),
    "neumann": (NeumannBC, "prescribed outward normal derivative du/dn = g"),
    "robin": (RobinBC, "alpha u + beta du/dn = g"),
    "periodic": (PeriodicBC, "u(x) = u(x + shift), optionally with gradients"),
    "initial": (InitialCondition, "u(x, t0) = g(x), optionally du/dt(x, t0)"),
    "data": (DataConstraint, "observed values at fixed points (array or .npz)"),
}


@hookimpl
def deepinn_constraints() -> list[Registration]:
    return [
        Registration(name, _builder(cls), ConstraintParams, summary)
        for name, (cls, summary) in _SUMMARIES.items()
    ]
