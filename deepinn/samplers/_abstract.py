"""The sampler contract: a domain, a number of points and a reproducible generator."""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import Any

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.domains import AbstractDomain
from deepinn.spaces import Points, Space

__all__ = ["MAX_FILTER_ROUNDS", "AbstractSampler", "FilterFn"]

FilterFn = Callable[[torch.Tensor], torch.Tensor]
"""``filter_fn(points)``: a bool mask (N,) of the (N, d) points to keep."""

MAX_FILTER_ROUNDS = 20
"""A filter that leaves fewer than ``n_points`` after this many extra draws is an error."""


def _check_n_points(n_points: object) -> int:
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points <= 0:
        raise ConfigurationError(
            f"n_points must be a positive integer; got {n_points!r}. Ask for at least 1 point."
        )
    return n_points


class AbstractSampler(abc.ABC):
    """Draws ``n_points`` points of ``domain`` per call, reproducibly.

    Each call of :meth:`sample_points` draws fresh points from the sampler's own
    ``torch.Generator`` (seeded with ``seed``; when ``seed`` is None, with a number drawn from
    torch's global generator, so ``torch.manual_seed`` makes runs reproducible). A generator
    passed to :meth:`sample_points` is used instead.

    Args:
        domain: An interior or a boundary (any ``AbstractDomain``).
        n_points: How many points each call returns (exactly).
        filter_fn: Optional ``filter_fn(points) -> bool mask``; only points passing it are kept
            and more are drawn until ``n_points`` pass.
        seed: Seed of the sampler's generator.

    Raises:
        ConfigurationError: ``n_points`` is not positive, ``domain`` is not a domain or
            ``filter_fn`` is not callable.
    """

    def __init__(
        self,
        domain: AbstractDomain,
        n_points: int,
        filter_fn: FilterFn | None = None,
        seed: int | None = None,
    ) -> None:
        if not isinstance(domain, AbstractDomain):
            raise ConfigurationError(
                f"{type(self).__name__} cannot sample {domain!r}: it is not a deepinn domain. "
                "Pass a domain such as dp.domains.Interval(...) or its `.boundary`."
            )
        if filter_fn is not None and not callable(filter_fn):
            raise ConfigurationError(
                f"filter_fn must be callable (points -> bool mask) or None; got {filter_fn!r}."
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ConfigurationError(
                f"seed must be an integer >= 0 or None (drawn from torch's generator); got "
                f"{seed!r}."
            )
        self.domain = domain
        self.n_points = _check_n_points(n_points)
        self.filter_fn = filter_fn
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed)

    @property
    def space(self) -> Space:
        """The space of the points (the domain's)."""
        return self.domain.space

    @property
    def generator(self) -> torch.Generator:
        """The sampler's own generator."""
        return self._generator

    @abc.abstractmethod
    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` points, float64 (n, dim)."""

    def _draw_extra(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` more points when the filter rejected some (default: like ``_draw``)."""
        return self._draw(n, generator)

    def sample_points(self, generator: torch.Generator | None = None) -> Points:
        """Draw ``n_points`` points in ``torch.get_default_dtype()``.

        Args:
            generator: Use this generator instead of the sampler's own.

        Returns:
            ``Points`` of the domain's space, exactly ``n_points`` rows.

        Raises:
            ConfigurationError: ``filter_fn`` keeps too few points after repeated draws.
            ShapeError: ``filter_fn`` returns something other than an (N,) mask.
        """
        gen = self._generator if generator is None else generator
        n = self.n_points
        points = self._draw(n, gen)
        if self.filter_fn is not None:
            points = self._apply_filter(points, gen)
        return Points(points[:n].to(torch.get_default_dtype()), self.domain.space)

    def _mask(self, points: torch.Tensor) -> torch.Tensor:
        mask = self.filter_fn(points.to(torch.get_default_dtype()))  # type: ignore[misc]
        mask = torch.as_tensor(mask)
        if mask.dim() == 2 and mask.shape[1] == 1:
            mask = mask[:, 0]
        if mask.shape != (points.shape[0],):
            raise ShapeError(
                f"filter_fn must return a bool mask of shape ({points.shape[0]},) for "
                f"{points.shape[0]} points; got shape {tuple(mask.shape)}."
            )
        return mask.to(torch.bool)

    def _apply_filter(self, points: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = self.n_points
        kept = [points[self._mask(points)]]
        got, tried = kept[0].shape[0], points.shape[0]
        for round_ in range(MAX_FILTER_ROUNDS):
            if got >= n:
                break
            need = n - got
            m = math.ceil(need * tried / got * 1.2) + 8 if got else n * 2 ** min(round_ + 1, 6)
            m = min(m, 100 * n + 1000)
            extra = self._draw_extra(m, gen)
            kept.append(extra[self._mask(extra)])
            got += kept[-1].shape[0]
            tried += m
        if got < n:
            raise ConfigurationError(
                f"filter_fn kept {got} of {tried} points drawn from {self.domain!r}, fewer than "
                f"n_points={n}, after {MAX_FILTER_ROUNDS} extra draws. Loosen the filter or check "
                "that it keeps part of the domain (it must return True for points to keep)."
            )
        return torch.cat(kept)

    def state_dict(self) -> dict[str, Any]:
        """The generator state and seed, for checkpoints."""
        return {"seed": self.seed, "generator": self._generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`.

        Raises:
            ConfigurationError: The state lacks the generator state.
        """
        if "generator" not in state:
            raise ConfigurationError(
                f"A sampler state needs the key 'generator'; got keys {sorted(state)}."
            )
        self.seed = state.get("seed", self.seed)
        self._generator.set_state(state["generator"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_generator"] = self._generator.get_state()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        generator = torch.Generator()
        generator.set_state(state.pop("_generator"))
        self.__dict__.update(state)
        self._generator = generator

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.domain!r}, n_points={self.n_points}, seed={self.seed})"
