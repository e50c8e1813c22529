"""Built-in plugin: the constraint types.

A constraint's residual is code (a function of the network's ``Field``) or an expression of a
configured problem, so these registrations carry the parameter a configuration sets on every
constraint — the weight — and the factory takes the rest as keyword context:
``factory(params, *, name, sampler, residual=..., value=..., ...)``. Where the points come from
and how many there are is the sampler's business (``sampler`` in the context).
"""

from __future__ import annotations

import inspect
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


_KEYWORDS: dict[str, dict[str, str]] = {
    "pde": {
        "residual": "The PDE residual, a function of the network's Field (problem=custom: "
                    "residual, an expression of outputs, derivatives and coordinates).",
        "source": "A right-hand side f(x) subtracted from the residual (source).",
    },
    "dirichlet": {
        "value": "The prescribed value g(x) (value; a mapping output -> expression for each "
                 "output).",
        "outputs": "The outputs the condition holds for (outputs).",
    },
    "neumann": {
        "flux": "The prescribed outward normal derivative du/dn = g(x) (value).",
        "outputs": "The outputs the condition holds for (outputs).",
    },
    "robin": {
        "value": "The right-hand side g(x) of alpha u + beta du/dn = g (value).",
        "alpha": "The coefficient of u (params: {alpha: ...}).",
        "beta": "The coefficient of du/dn (params: {beta: ...}).",
        "outputs": "The outputs the condition holds for (outputs).",
    },
    "periodic": {
        "shift": "The period: a point x is matched with x + shift, one entry per coordinate "
                 "(params: {shift: [...]}); draw x on one face with where.",
        "derivatives": "Match the gradients too (params: {derivatives: true}).",
        "outputs": "The outputs that are periodic (outputs).",
    },
    "initial": {
        "value": "The initial value u(x, t0) = g(x) (value; a mapping per output).",
        "rate": "The initial rate du/dt(x, t0), for second order in time (rate).",
        "outputs": "The outputs the condition holds for (outputs).",
    },
    "data": {
        "points": "The observation points (file: a .csv or .npz).",
        "values": "The observed values at the points (file).",
        "outputs": "The outputs observed (the file's columns, or outputs).",
    },
}
"""What the problem gives each constraint besides its weight, shown by ``deepinn show``: the
keyword and, in brackets, the key of ``problem.constraints.<name>`` that sets it."""


def _builder(name: str, cls: type) -> Any:
    def build(params: ConstraintParams, **context: Any) -> Any:
        return cls(weight=params.weight, **context)

    build.__name__ = f"build_{cls.__name__}"
    documented = _KEYWORDS.get(name, {})
    shown = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for key, parameter in inspect.signature(cls).parameters.items() if key in documented
    ]
    build.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("params", inspect.Parameter.POSITIONAL_ONLY), *shown]
    )
    build.__doc__ = f"Build a {cls.__name__}.\n\nArgs:\n" + "".join(
        f"    {key}: {doc}\n" for key, doc in documented.items()
    )
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
        Registration(name, _builder(name, cls), ConstraintParams, summary)
        for name, (cls, summary) in _SUMMARIES.items()
    ]
