"""AdaptiveSampler: residual-adaptive collocation (RAD, RAR-D, greedy) from a candidate pool."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.domains import AbstractDomain
from deepinn.domains._coerce import DTYPE
from deepinn.samplers._abstract import AbstractSampler, FilterFn
from deepinn.samplers._random import RandomUniformSampler
from deepinn.spaces import Points

__all__ = ["ADAPTIVE_METHODS", "AdaptiveSampler", "ResidualFn", "rad_density"]

ResidualFn = Callable[[torch.Tensor], torch.Tensor]
"""``residual_fn(points)``: a residual per point, (N,) or (N, k), for (N, d) points."""

ADAPTIVE_METHODS = ("rad", "rard", "greedy")
"""``rad``: resample all points with density ~ |r|^k/mean(|r|^k) + c (Wu et al. 2023);
``rard``: keep the points and add ``add_fraction * n`` drawn with that density at each round;
``greedy``: keep the ``n`` largest residuals of the pool."""


def rad_density(scores: torch.Tensor, k: float, c: float) -> torch.Tensor:
    """The RAD density ``|r|^k / mean(|r|^k) + c`` (not normalised); uniform when all r = 0."""
    powered = scores.abs().to(DTYPE).pow(k)
    mean = powered.mean()
    if not bool(torch.isfinite(mean)) or float(mean) <= 0.0:
        return torch.ones_like(powered)
    return powered / mean + c


class AdaptiveSampler(AbstractSampler):
    """Residual-adaptive points: candidates from a base sampler, kept by their residual.

    Every selection draws ``pool_factor * n_points`` candidates from the base sampler (random
    uniform by default) and scores them by ``|residual|`` (the norm over columns). ``method``
    says which are kept:

    - ``rad`` (Wu et al. 2023): ``n_points`` drawn without replacement with probability
      proportional to ``|r|^k / mean(|r|^k) + c``;
    - ``rard``: as ``rad`` but the training loop keeps the previous points and adds
      ``ceil(add_fraction * n_points)`` of them per round (RAR-D); alone it behaves as ``rad``;
    - ``greedy``: the ``n_points`` largest residuals.

    In training (``sampler=adaptive``) :class:`deepinn.training.CollocationData` scores the pool
    with the current network's residual of the constraint at every resampling round and draws
    from generators derived from the run's seed and the round, so every DDP rank and a resumed
    run select the same points. Used alone, ``sample_points`` scores with ``residual_fn`` (in the
    default dtype, ``requires_grad=True`` so residuals may take derivatives); without one it
    returns base points.

    Args:
        domain: An interior or a boundary.
        n_points: How many points each call returns.
        residual_fn: The residual to score candidates by; may be set later as an attribute.
        pool_factor: Candidates per returned point (>= 1).
        base: The sampler class drawing the candidates.
        filter_fn: Optional mask function; see :class:`AbstractSampler`.
        seed: Seed of the sampler's generator.
        method: ``rad``, ``rard`` or ``greedy`` (see above).
        k: The residual's exponent in the RAD density (>= 0).
        c: The density's uniform part (>= 0; k = 0 or a large c: uniform).
        add_fraction: RAR-D only: the fraction of ``n_points`` added per round (0, 1].

    Raises:
        ConfigurationError: A parameter out of range or ``residual_fn`` is not callable.
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
        method: str = "greedy",
        k: float = 1.0,
        c: float = 1.0,
        add_fraction: float = 0.1,
    ) -> None:
        super().__init__(domain, n_points, filter_fn, seed)
        if isinstance(pool_factor, bool) or not isinstance(pool_factor, int) or pool_factor < 1:
            raise ConfigurationError(f"pool_factor must be an integer >= 1; got {pool_factor!r}.")
        if residual_fn is not None and not callable(residual_fn):
            raise ConfigurationError(f"residual_fn must be callable or None; got {residual_fn!r}.")
        if not (isinstance(base, type) and issubclass(base, AbstractSampler)):
            raise ConfigurationError(f"base must be a sampler class; got {base!r}.")
        if method not in ADAPTIVE_METHODS:
            raise ConfigurationError(
                f"sampler.method = {method!r}; valid methods are {list(ADAPTIVE_METHODS)}."
            )
        for key, value in (("k", k), ("c", c)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigurationError(f"sampler.{key} = {value!r}; use a finite number >= 0.")
        if not (isinstance(add_fraction, (int, float)) and 0 < add_fraction <= 1):
            raise ConfigurationError(
                f"sampler.add_fraction = {add_fraction!r}; use a number in (0, 1]."
            )
        self.residual_fn = residual_fn
        self.pool_factor = pool_factor
        self.method = method
        self.k = float(k)
        self.c = float(c)
        self.add_fraction = float(add_fraction)
        self._base: AbstractSampler = base(domain, n_points * pool_factor, filter_fn, seed=0)
        self._pool_mode = False

    @property
    def pool_size(self) -> int:
        """The number of candidates per selection."""
        return self.n_points * self.pool_factor

    @property
    def n_added(self) -> int:
        """RAR-D: points added per round."""
        return max(1, math.ceil(self.add_fraction * self.n_points))

    @contextmanager
    def drawing_pool(self) -> Iterator[None]:
        """Within the block, :meth:`sample_points` returns the whole candidate pool, unscored."""
        self._pool_mode = True
        try:
            yield
        finally:
            self._pool_mode = False

    def sample_points(self, generator: torch.Generator | None = None) -> Points:
        if self._pool_mode:
            return self._base.sample_points(self._generator if generator is None else generator)
        return super().sample_points(generator)

    def select(self, scores: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """Indices of ``n`` of the scored candidates, by ``method`` (``rard`` draws as ``rad``).

        Args:
            scores: ``|residual|`` per candidate, (P,).
            n: How many to keep (<= P).
            generator: Drives the RAD draw (unused by ``greedy``).

        Returns:
            ``n`` distinct indices into the candidates (int64).
        """
        scores = scores.detach().to(DTYPE).cpu()
        if scores.dim() != 1 or n > scores.shape[0]:
            raise ShapeError(
                f"select needs (P,) scores with P >= n = {n}; got shape {tuple(scores.shape)}."
            )
        scores = torch.nan_to_num(scores, nan=0.0, posinf=torch.finfo(DTYPE).max)
        if self.method == "greedy":
            return torch.topk(scores, n).indices
        density = rad_density(scores, self.k, self.c)
        return torch.multinomial(density, n, replacement=False, generator=generator)

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
        if self.domain.intrinsic_dim == 0:  # a finite set (an interval's ends): every point of
            return self._base._draw(n, generator)  # it gets its share, nothing to refine
        pool = self._base._draw(n * self.pool_factor, generator)
        if self.residual_fn is None:
            return pool[:n]
        return pool[self.select(self._residual_norm(pool), n, generator)]

    def __repr__(self) -> str:
        return (
            f"AdaptiveSampler({self.domain!r}, n_points={self.n_points}, method={self.method!r}, "
            f"pool_factor={self.pool_factor}, k={self.k}, c={self.c})"
        )
