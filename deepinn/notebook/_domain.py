"""The original DeepINN tutorial's problem bundle: ``dp.domain.Generic(pde, interior, [bcs])``.

A thin name over :class:`deepinn.problems.Problem` (``dp.domain`` is :mod:`deepinn.notebook`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import AbstractConstraint, PDEConstraint
from deepinn.problems import Problem

__all__ = ["Generic"]

SeedResidual = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``pde(X, y)``: the residual from the inputs X (which require grad) and the outputs y."""


def Generic(  # noqa: N802 - the original API's name
    pde: SeedResidual,
    interior: PDEConstraint,
    boundaries: Sequence[AbstractConstraint] = (),
    exact: Callable[[torch.Tensor], torch.Tensor] | None = None,
    name: str = "generic",
) -> Problem:
    """A problem from a residual ``pde(X, y)``, interior points and boundary constraints.

    Args:
        pde: The residual in the original style: ``pde(X, y)`` using e.g.
            ``dp.constraint.Jacobian(X, y)(0, 0)``.
        interior: ``dp.constraint.PDE(geom=..., ...)``: the collocation points.
        boundaries: Boundary constraints, e.g. ``dp.constraint.DirichletBC(...)``; renamed
            ``bc0``, ``bc1``, ... in the order given.
        exact: The exact solution, if known, to report ``rel_l2``.
        name: The problem's name.
    """
    if not isinstance(interior, PDEConstraint):
        raise ConfigurationError(
            f"Generic(pde, interior, boundaries): interior must be dp.constraint.PDE(...), got "
            f"{interior!r}."
        )

    def residual(field: object) -> torch.Tensor:
        return pde(field.x, field.values)  # type: ignore[attr-defined]

    constraints: list[AbstractConstraint] = [
        PDEConstraint("pde", interior.sampler, residual, interior.source, interior.weight)
    ]
    for index, boundary in enumerate(boundaries):
        boundary.name = f"bc{index}"
        constraints.append(boundary)
    return Problem(name, interior.sampler.domain, constraints, exact=exact)
