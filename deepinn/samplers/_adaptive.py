"""AdaptiveSampler: keep the candidate points where the residual is largest."""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.domains import AbstractDomain
from deepinn.domains._common import DTYPE
from deepinn.samplers._abstract import AbstractSampler, FilterFn
from deepinn.samplers._random import RandomUniformSampler

__all__ = ["AdaptiveSampler", "ResidualFn"]

ResidualFn = Callable[[torch.Tensor], torch.Tensor]
"""``residual_fn(points)``: a residual per point, (N,) or (N, k), for (N, d) points."""


class AdaptiveSampler(AbstractSampler):
    """Residual-based sampling: draw a pool, keep the ``n_points`` with the largest residual.

    Each call draws ``pool_factor * n_points`` candidates from the base sampler (random uniform
    by default), evaluates ``residual_fn`` on them (in the default dtype, with
    ``requires_grad=True`` so residuals may take derivatives) and keeps the points with the
    largest ``|residual|`` (the norm over columns when it has several). Without a residual
    function (``residual_fn=None``, e.g. before training set it) it returns base points.

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns.
        residual_fn: The residual to rank candidates by; may be set later as an attribute.
        pool_factor: Candidates per returned point (>= 1).
        base: The sampler class drawing the candidates.
        filter_fn: Optional mask function; see :class:`AbstractSampler`.
        seed: Seed of the sampler's generator.

    Raises:
        ConfigurationError: ``pool_factor`` < 1 or ``residual_fn`` is not callable.
    """

    def __init__(
        self,
        domain: AbstractDomain,
        n_points: int,
        residual_fn: ResidualFn | None = None,
        pool_factor: int = 4,
        base: type[AbstractSampler] = RandomUniformSampler,
        filter_fn: FilterFn | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(domain, n_points, filter_fn, seed)
        if isinstance(pool_factor, bool) or not isinstance(pool_factor, int) or pool_factor < 1:
            raise ConfigurationError(f"pool_factor must be an integer >= 1; got {pool_factor!r}.")
        if residual_fn is not None and not callable(residual_fn):
            raise ConfigurationError(f"residual_fn must be callable or None; got {residual_fn!r}.")
        if not (isinstance(base, type) and issubclass(base, AbstractSampler)):
            raise ConfigurationError(f"base must be a sampler class; got {base!r}.")
        self.residual_fn = residual_fn
        self.pool_factor = pool_factor
        self._base: AbstractSampler = base(domain, n_points * pool_factor, seed=0)

    def _residual_norm(self, pool: torch.Tensor) -> torch.Tensor:
        x = pool.to(torch.get_default_dtype()).detach().requires_grad_(True)
        with torch.enable_grad():
            residual = torch.as_tensor(self.residual_fn(x))  # type: ignore[misc]
        residual = residual.detach().to(DTYPE)
        if residual.dim() == 2:
            residual = residual.norm(dim=1)
        if residual.shape != (pool.shape[0],):
            raise ShapeError(
                f"residual_fn must return (N,) or (N, k) for {pool.shape[0]} points; got "
                f"shape {tuple(residual.shape)}."
            )
        return residual.abs()

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        pool = self._base._draw(n * self.pool_factor, generator)
        if self.residual_fn is None:
            return pool[:n]
        scores = self._residual_norm(pool)
        return pool[torch.topk(scores, n).indices]
