"""What the built-in constraints share: the sampled base class and the output helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints._abstract import AbstractConstraint
from deepinn.operators import Field
from deepinn.spaces import Space

__all__ = [
    "POINT_FUNCTION",
    "PointFunction",
    "SampledConstraint",
    "normal_derivative",
    "output_names",
    "output_values",
]

PointFunction = Callable[[torch.Tensor], torch.Tensor]
"""A function of an (N, d) points tensor returning (N,) or (N, m) values."""

POINT_FUNCTION = "a function of the (N, d) points returning (N,) or (N, m) values"


def output_names(outputs: Sequence[str] | str) -> tuple[str, ...]:
    """``outputs`` as a tuple of names (one name may be given as a string)."""
    return (outputs,) if isinstance(outputs, str) else tuple(outputs)


def output_values(field: Field, outputs: tuple[str, ...]) -> torch.Tensor:
    """The (N, len(outputs)) values of ``outputs`` in ``field``."""
    columns = [field[name] for name in outputs]
    return columns[0] if len(columns) == 1 else torch.cat(columns, dim=1)


def normal_derivative(
    field: Field, outputs: tuple[str, ...], normal: torch.Tensor
) -> torch.Tensor:
    """The outward normal derivatives du/dn of ``outputs``, one column each."""
    columns = [(field.grad(name) * normal).sum(dim=1, keepdim=True) for name in outputs]
    return torch.cat(columns, dim=1)


class SampledConstraint(AbstractConstraint):
    """A constraint whose points come from a sampler (re-drawn on each resampling).

    Attributes:
        point_map: None, or a function applied to every drawn point set (N, d) before the batch
            (targets, normals, partners) is made from it; time marching sets one that moves the
            time column into a window.
    """

    point_map: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __init__(self, name: str, sampler: object, weight: float, space: Space | None) -> None:
        domain = getattr(sampler, "domain", None)
        if domain is None or not hasattr(sampler, "sample_points"):
            raise ConfigurationError(
                f"Constraint {name!r} needs a sampler (deepinn.samplers.*), got {sampler!r}."
            )
        super().__init__(name, space or domain.space, weight)
        self.sampler: Any = sampler

    def _draw(self, generator: torch.Generator | None) -> torch.Tensor:
        points = self.sampler.sample_points(generator).as_tensor.detach()
        return points if self.point_map is None else self.point_map(points)
