"""Initial conditions: ``u(x, t0) = value(x)`` and optionally ``du/dt(x, t0) = rate(x)``."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints._abstract import Batch, checked_callable, user_values
from deepinn.constraints._sampled import (
    POINT_FUNCTION,
    PointFunction,
    SampledConstraint,
    output_names,
    output_values,
)
from deepinn.operators import Field
from deepinn.spaces import Space

__all__ = ["InitialCondition"]


class InitialCondition(SampledConstraint):
    """``u(x, t0) = value(x)`` and optionally ``du/dt(x, t0) = rate(x)``.

    The sampler draws points of the spatial domain; the time column ``t0`` is inserted where the
    full space puts its time variable. ``value`` and ``rate`` get the full (N, d) points.
    """

    def __init__(
        self,
        name: str,
        sampler: object,
        space: Space,
        value: PointFunction,
        rate: PointFunction | None = None,
        time: str = "t",
        t0: float = 0.0,
        outputs: Sequence[str] | str = "u",
        weight: float = 1.0,
    ) -> None:
        super().__init__(name, sampler, weight, space)
        if time not in space or space.variables[time] != 1:
            raise ConfigurationError(
                f"Initial condition {name!r}: time variable {time!r} is not a 1-D variable of "
                f"{space!r}; pass time=<name of the time variable>."
            )
        spatial = sampler.domain.space  # type: ignore[attr-defined]
        expected = [var for var in space if var != time]
        if list(spatial) != expected:
            raise ConfigurationError(
                f"Initial condition {name!r}: the sampler's space {spatial!r} must hold the "
                f"non-time variables {expected} of {space!r}."
            )
        self.value = checked_callable(name, "value", value, POINT_FUNCTION)
        self.rate = checked_callable(name, "rate", rate, POINT_FUNCTION, optional=True)
        self.time, self.t0 = time, float(t0)
        self.outputs = output_names(outputs)
        self.order = 1 if rate is not None else 0
        self.columns = len(self.outputs) * (2 if rate is not None else 1)

    def sample(self, generator: torch.Generator) -> Batch:
        spatial = self._draw(generator)
        t_column = self.space.slice(self.time).start
        t = torch.full((len(spatial), 1), self.t0, dtype=spatial.dtype)
        x = torch.cat([spatial[:, :t_column], t, spatial[:, t_column:]], dim=1)
        k = len(self.outputs)
        batch = {"x": x, "target": user_values(self.value, x, f"{self.name}: value(x)", k)}
        if self.rate is not None:
            batch["rate"] = user_values(self.rate, x, f"{self.name}: rate(x)", k).to(x)
        batch["target"] = batch["target"].to(x)
        return batch

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        parts = [output_values(field, self.outputs) - batch["target"]]
        if self.rate is not None:
            rates = torch.cat([field.partial(name, self.time) for name in self.outputs], dim=1)
            parts.append(rates - batch["rate"])
        return torch.cat(parts, dim=1)
