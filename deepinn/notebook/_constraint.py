"""The original DeepINN constraint names: ``dp.constraint.PDE``, ``DirichletBC``, ``STRATEGIES``.

``PDE(...)`` and ``DirichletBC(...)`` build the core :mod:`deepinn.constraints` classes, as thin
subclasses that add the notebook's two methods, ``sampler_object()`` and ``sample_labels(X)``;
the core classes do not carry them. Nothing here is a second implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepinn import samplers
from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.constraints import DirichletBC as _DirichletBC
from deepinn.constraints import PDEConstraint
from deepinn.constraints._abstract import user_values
from deepinn.domains import AbstractBoundary

__all__ = ["PDE", "STRATEGIES", "DirichletBC", "SeedDirichletBC", "SeedPDE"]

STRATEGIES: dict[str, type] = {
    "random": samplers.RandomUniformSampler,
    "grid": samplers.GridSampler,
    "LatinHypercube": samplers.LatinHypercubeSampler,
    "sobol": samplers.SobolSampler,
    "halton": samplers.HaltonSampler,
}
"""``sampling_strategy`` names of the original API -> sampler classes."""


def _sampler(
    domain: object, strategy: str, no_points: int, filter_fn: Callable | None, seed: int | None
) -> object:
    by_lower = {name.lower(): cls for name, cls in STRATEGIES.items()}
    if not isinstance(strategy, str) or strategy.lower() not in by_lower:
        raise ConfigurationError(
            unknown_name_message(
                "sampling_strategy", str(strategy), STRATEGIES, plural="sampling strategies"
            )
            + " (Case does not matter.)"
        )
    return by_lower[strategy.lower()](domain, n_points=no_points, filter_fn=filter_fn, seed=seed)


class _SeedMethods:
    """The notebook's methods on a sampled constraint (``self.sampler``, ``self.name``)."""

    sampler: object
    name: str

    def sampler_object(self) -> object:
        """The sampler that draws this constraint's points."""
        return self.sampler

    def sample_labels(self, points: torch.Tensor) -> torch.Tensor:
        """The target values at ``points`` as a 1-D tensor (N,).

        A Dirichlet condition returns its prescribed values, a PDE its source term (zeros
        without one).
        """
        points = points.as_tensor if hasattr(points, "as_tensor") else torch.as_tensor(points)
        function = getattr(self, "value", None) or getattr(self, "source", None)
        if function is None:
            return torch.zeros(len(points), dtype=points.dtype)
        with torch.no_grad():
            labels = user_values(function, points.detach(), f"{self.name}: labels")
        return labels[:, 0] if labels.shape[1] == 1 else labels


class SeedPDE(_SeedMethods, PDEConstraint):
    """A core :class:`~deepinn.constraints.PDEConstraint` with the notebook's methods."""


class SeedDirichletBC(_SeedMethods, _DirichletBC):
    """A core :class:`~deepinn.constraints.DirichletBC` with the notebook's methods."""


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
) -> SeedPDE:
    """Collocation points in the interior of ``geom`` (a core :class:`PDEConstraint`)."""
    sampler = _sampler(geom, sampling_strategy, no_points, filter_fn, seed)
    return SeedPDE("pde", sampler, residual or _no_residual)


def DirichletBC(  # noqa: N802
    geom: object,
    function: Callable[[torch.Tensor], torch.Tensor],
    sampling_strategy: str = "random",
    no_points: int = 1000,
    filter_fn: Callable | None = None,
    seed: int | None = None,
    name: str = "dirichlet",
) -> SeedDirichletBC:
    """Values ``function(X)`` prescribed on the boundary of ``geom`` (a core DirichletBC); a
    boundary (``disk.boundary``, or a part of one) is sampled itself."""
    where = geom if isinstance(geom, AbstractBoundary) else geom.boundary  # type: ignore[attr-defined]
    sampler = _sampler(where, sampling_strategy, no_points, filter_fn, seed)
    return SeedDirichletBC(name, sampler, function)
