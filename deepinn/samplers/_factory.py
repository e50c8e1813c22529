"""``SamplerFactory``: the configured sampler, built on each constraint's domain.

A problem factory (``factory(params, domain, make_sampler)``) receives one and calls
``make_sampler(domain, n_points)`` once per constraint; each call builds the chosen registered
sampler through the registry with the run's ``seed``. A training run draws its points from
stateless generators keyed by (run seed, constraint name, round), so constraints draw different
points; the sampler's own seed serves direct ``sample_points()`` calls (plots, previews).
"""

from __future__ import annotations

from typing import Any, Protocol

from deepinn.domains import AbstractDomain
from deepinn.samplers._abstract import AbstractSampler

__all__ = ["SamplerFactory"]


class _Samplers(Protocol):
    def build(self, name: str, params: Any = None, /, **context: Any) -> AbstractSampler: ...


class _Registry(Protocol):
    """What the factory needs of :class:`deepinn.plugins.Registry`: its samplers."""

    @property
    def samplers(self) -> _Samplers: ...


class SamplerFactory:
    """Builds the sampler ``name`` with ``params`` for one constraint at a time.

    Args:
        name: A registered sampler name (``random``, ``sobol``, ``provider:name``, ...).
        params: Its parameters (a mapping, its schema's instance or None for the defaults).
        registry: The registry that builds it.
        seed: The run's seed, given to every sampler built.

    Attributes:
        built: How many samplers this factory has built.
    """

    def __init__(self, name: str, params: Any, registry: _Registry, seed: int = 0) -> None:
        self.name = name
        self.params = params
        self.registry = registry
        self.seed = seed
        self.built = 0

    def __call__(self, domain: AbstractDomain, n_points: int) -> AbstractSampler:
        """The sampler of one constraint: ``n_points`` points of ``domain``.

        Raises:
            UnknownNameError: ``name`` is not a registered sampler.
            ConfigurationError: ``params`` do not fit its schema, or the sampler refuses the
                domain or the count.
        """
        sampler = self.registry.samplers.build(
            self.name, self.params, domain=domain, n_points=n_points, seed=self.seed
        )
        self.built += 1
        return sampler

    def __repr__(self) -> str:
        return f"SamplerFactory({self.name!r}, seed={self.seed}, built={self.built})"
