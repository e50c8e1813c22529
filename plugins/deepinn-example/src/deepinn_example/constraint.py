"""TEMPLATE (constraint): ``pointwise_source``, Poisson's equation driven by point sources.

    -lap u = sum_k q_k delta_eps(x - p_k)  at interior collocation points,

with each point source (strength ``q_k`` at ``p_k``) regularised to the smooth bump

    delta_eps(y) = eps^2 / (pi (|y|^2 + eps^2)^2)        (integral 1 over R2; a delta as eps -> 0)

whose potential is known in closed form: ``-lap(-(1/(4 pi)) log(|y|^2 + eps^2)) = delta_eps(y)``
(``point_source_potential``). A problem built from this constraint therefore has an exact solution.

A constraint subclasses ``deepinn.constraints.AbstractConstraint`` and implements:

- ``sample(generator) -> {"x": (N, d) points, ...}``: draw its points (on the CPU) and precompute
  anything per point (here the source density), so the training step does not recompute it;
  every tensor of the batch has N rows (batches are sharded across DDP ranks by rows);
- ``residual(field, batch) -> (N, m)``: the residual from the network's ``Field`` at the points
  (``field['u']``, ``field.grad('u')``, ``field.laplacian('u')``, ``field.partial('u', 'x0')``);
- the class attributes ``order`` (highest derivative order), ``second_order`` (which
  coordinates' second derivatives the residual takes; a hint for forward-Laplacian networks) and
  ``laplacian_only`` (the residual takes them only as ``field.laplacian`` over exactly those
  coordinates, so such a network carries a single Laplacian lane).

The factory contract is ``factory(params, **context) -> constraint``: ``params`` (the schema) holds
what a configuration can set, the keyword context what only code can give (here the name, the
sampler and the sources), passed by the problem that builds the constraint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from deepinn import ConfigurationError
from deepinn.constraints import AbstractConstraint, Batch

__all__ = [
    "PointSource",
    "PointwiseSource",
    "PointwiseSourceParams",
    "build_pointwise_source",
    "point_source_density",
    "point_source_potential",
]

PointSource = tuple[Sequence[float], float]
"""``(position, strength)``: where a source sits (two numbers) and how strong it is."""


def _check_sources(
    sources: Sequence[PointSource], width: float
) -> list[tuple[torch.Tensor, float]]:
    if not width > 0.0:
        raise ConfigurationError(
            f"pointwise_source: width={width!r} must be > 0 (the regularisation)."
        )
    if not sources:
        raise ConfigurationError("pointwise_source needs at least one source (position, strength).")
    checked = []
    for position, strength in sources:
        p = torch.as_tensor(position, dtype=torch.float64).reshape(-1)
        if p.shape != (2,):
            raise ConfigurationError(
                f"pointwise_source: a source position must have 2 numbers; got {position!r}."
            )
        checked.append((p, float(strength)))
    return checked


def point_source_density(
    x: torch.Tensor, sources: Sequence[PointSource], width: float
) -> torch.Tensor:
    """``sum_k q_k delta_eps(x - p_k)`` at the (N, 2) points ``x``: (N, 1)."""
    total = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
    for p, q in _check_sources(sources, width):
        r2 = (x - p.to(x)).square().sum(dim=1, keepdim=True)
        total = total + q * width**2 / (math.pi * (r2 + width**2) ** 2)
    return total


def point_source_potential(
    x: torch.Tensor, sources: Sequence[PointSource], width: float
) -> torch.Tensor:
    """``sum_k -(q_k / (4 pi)) log(|x - p_k|^2 + eps^2)`` (N, 1): solves -lap u = the density."""
    total = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
    for p, q in _check_sources(sources, width):
        r2 = (x - p.to(x)).square().sum(dim=1, keepdim=True)
        total = total - q / (4.0 * math.pi) * torch.log(r2 + width**2)
    return total


class PointwiseSource(AbstractConstraint):
    """``-lap u = sum_k q_k delta_eps(x - p_k)`` at the points of ``sampler`` (a 2-D interior).

    Args:
        name: Names the logged loss (``train/loss/<name>``).
        sampler: Draws the collocation points (any ``deepinn.samplers`` sampler).
        sources: ``[(position, strength), ...]``.
        width: The regularisation ``eps`` > 0.
        output: The network output the equation is for.
        weight: The loss weight.
    """

    order = 2  # the residual takes second derivatives

    def __init__(
        self,
        name: str,
        sampler: object,
        sources: Sequence[PointSource],
        width: float,
        output: str = "u",
        weight: float = 1.0,
    ) -> None:
        domain = getattr(sampler, "domain", None)
        if domain is None or not hasattr(sampler, "sample_points"):
            raise ConfigurationError(
                f"Constraint {name!r} needs a deepinn sampler; got {sampler!r}."
            )
        if domain.dim != 2:
            raise ConfigurationError(
                f"Constraint {name!r} (pointwise_source) is posed in 2-D; its sampler's domain "
                f"{domain!r} has dimension {domain.dim}."
            )
        super().__init__(name, domain.space, weight)
        self.sampler = sampler
        self.sources = [(p.tolist(), q) for p, q in _check_sources(sources, width)]
        self.width = float(width)
        self.output = output
        self.second_order = tuple(domain.space.names)  # d2/dx0^2 and d2/dx1^2 of the variable
        self.laplacian_only = True  # the residual below needs only their sum

    def sample(self, generator: torch.Generator) -> Batch:
        x = self.sampler.sample_points(generator).as_tensor.detach()
        return {"x": x, "source": point_source_density(x, self.sources, self.width).to(x)}

    def residual(self, field: object, batch: Batch) -> torch.Tensor:
        return -field.laplacian(self.output) - batch["source"]  # type: ignore[attr-defined]


@dataclass
class PointwiseSourceParams:
    """What a configuration sets for ``constraint=pointwise_source``.

    Attributes:
        weight: The loss weight, >= 0.
        width: The regularisation ``eps`` of each point source, > 0.
    """

    weight: float = 1.0
    width: float = 0.1

    def __post_init__(self) -> None:
        if not self.weight >= 0.0:
            raise ConfigurationError(f"pointwise_source: weight={self.weight}; use a weight >= 0.")
        if not self.width > 0.0:
            raise ConfigurationError(f"pointwise_source: width={self.width}; use a width > 0.")


def build_pointwise_source(
    params: PointwiseSourceParams,
    *,
    name: str,
    sampler: object,
    sources: Sequence[PointSource],
    output: str = "u",
    outputs: Sequence[str] | None = None,
    space: object = None,
    **unused: object,
) -> PointwiseSource:
    """The constraint factory: ``factory(params, *, name, sampler, sources, output='u')``.

    A problem passes more context than this constraint uses (``problem=custom`` passes
    ``space`` always and ``outputs`` where the entry names them): ``outputs`` must then be the
    one output it drives; the rest is ignored.
    """
    if outputs is not None:
        names = [outputs] if isinstance(outputs, str) else list(outputs)
        if len(names) != 1:
            raise ConfigurationError(
                f"Constraint {name!r} (pointwise_source) drives one output; got outputs = "
                f"{names}. Give one, e.g. outputs: [u]."
            )
        output = names[0]
    return PointwiseSource(
        name=name,
        sampler=sampler,
        sources=sources,
        width=params.width,
        output=output,
        weight=params.weight,
    )
