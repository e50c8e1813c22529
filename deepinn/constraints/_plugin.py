"""Built-in plugin: the constraint types.

A constraint's residual is code (a function of the network's ``Field``), so these registrations
carry the parameters a configuration can set — the number of points and the weight — and the
factory takes the code-level parts as keyword context: ``factory(params, *, name, sampler, ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deepinn._errors import ConfigurationError
from deepinn.constraints import _conditions as conditions
from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration


@dataclass
class ConstraintParams:
    """Parameters every constraint takes from a configuration."""

    n_points: int = 1000
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.n_points <= 0:
            raise ConfigurationError(
                f"n_points = {self.n_points}; a constraint needs a positive number of points."
            )
        if self.weight < 0:
            raise ConfigurationError(f"weight = {self.weight}; use a weight >= 0.")


def _builder(cls: type) -> Any:
    def build(params: ConstraintParams, **context: Any) -> Any:
        return cls(weight=params.weight, **context)

    build.__name__ = f"build_{cls.__name__}"
    return build


_SUMMARIES = {
    "pde": (conditions.PDEConstraint, "PDE residual at interior collocation points"),
    "dirichlet": (conditions.DirichletBC, "prescribed values u = g"),
    "neumann": (conditions.NeumannBC, "prescribed outward normal derivative du/dn = g"),
    "robin": (conditions.RobinBC, "alpha u + beta du/dn = g"),
    "periodic": (conditions.PeriodicBC, "u(x) = u(x + shift), optionally with gradients"),
    "initial": (conditions.InitialCondition, "u(x, t0) = g(x), optionally du/dt(x, t0)"),
    "data": (conditions.DataConstraint, "observed values at fixed points (array or .npz)"),
}


@hookimpl
def deepinn_constraints() -> list[Registration]:
    return [
        Registration(name, _builder(cls), ConstraintParams, summary)
        for name, (cls, summary) in _SUMMARIES.items()
    ]
