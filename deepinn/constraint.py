"""The original DeepINN names (``dp.constraint.Jacobian``, ``PDE``, ``DirichletBC``).

Thin names over the core classes in :mod:`deepinn.constraints`, :mod:`deepinn.samplers` and
:mod:`deepinn.operators`; nothing here is a second implementation.

One deliberate difference: the original ``Jacobian(X, y)(i, j)`` ignored ``i`` and returned
column ``j`` of the gradient of the sum of all outputs. deepinn returns the true dy_i/dX_j, so
for ``y = sin(X)`` with a two-column ``X``, ``Jacobian(X, y)(0, 1)`` is 0 and the column the
original printed there is ``Jacobian(X, y)(1, 1)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepinn import samplers
from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.constraints import DirichletBC as _DirichletBC
from deepinn.constraints import PDEConstraint
from deepinn.operators import Jacobian as Jacobian

__all__ = ["PDE", "STRATEGIES", "DirichletBC", "Jacobian"]

STRATEGIES: dict[str, type] = {
    "random": samplers.RandomUniformSampler,
    "grid": samplers.GridSampler,
    "LatinHypercube": samplers.LatinHypercubeSampler,
    "sobol": samplers.SobolSampler,
    "halton": samplers.HaltonSampler,
}
"""``sampling_strategy`` names of the original API -> sampler classes."""


def _sampler(domain: object, strategy: str, no_points: int, filter_fn: Callable | None, seed: int | None) -> object:
    if strategy not in STRATEGIES:
        raise ConfigurationError(unknown_name_message("sampling_strategy", strategy, STRATEGIES))
    return STRATEGIES[strategy](domain, n_points=no_points, filter_fn=filter_fn, seed=seed)


def _no_residual(field: object) -> torch.Tensor:
    raise ConfigurationError(
        "This PDE constraint has no residual yet: give it one through "
        "dp.domain.Generic(pde, interior_points, [bcs]) or build "
        "dp.constraints.PDEConstraint(name, sampler, residual=...) directly."
    )


def PDE(  # noqa: N802 - the original API's name
    geom: object,
    sampling_strategy: str = "random",
    no_points: int = 1000,
    filter_fn: Callable | None = None,
    residual: Callable | None = None,
    seed: int | None = None,
) -> PDEConstraint:
    """Collocation points in the interior of ``geom`` (a :class:`PDEConstraint`)."""
    sampler = _sampler(geom, sampling_strategy, no_points, filter_fn, seed)
    return PDEConstraint("pde", sampler, residual or _no_residual)


def DirichletBC(  # noqa: N802
    geom: object,
    function: Callable[[torch.Tensor], torch.Tensor],
    sampling_strategy: str = "random",
    no_points: int = 1000,
    filter_fn: Callable | None = None,
    seed: int | None = None,
    name: str = "dirichlet",
) -> _DirichletBC:
    """Values ``function(X)`` prescribed on the boundary of ``geom`` (a core DirichletBC)."""
    sampler = _sampler(geom.boundary, sampling_strategy, no_points, filter_fn, seed)  # type: ignore[attr-defined]
    return _DirichletBC(name, sampler, function)
