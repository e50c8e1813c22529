"""Observed data: ``u(x_i) = values_i`` at fixed points."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.constraints._abstract import AbstractConstraint, Batch, as_columns
from deepinn.constraints._sampled import output_names, output_values
from deepinn.operators import Field
from deepinn.spaces import Space

__all__ = ["DataConstraint"]


class DataConstraint(AbstractConstraint):
    """Observed values at fixed points: ``u(x_i) = values_i``."""

    order = 0

    def __init__(
        self,
        name: str,
        space: Space,
        points: torch.Tensor | np.ndarray,
        values: torch.Tensor | np.ndarray,
        outputs: Sequence[str] | str = "u",
        weight: float = 1.0,
    ) -> None:
        super().__init__(name, space, weight)
        points = torch.as_tensor(points, dtype=torch.get_default_dtype())
        if points.dim() == 1 and space.dim == 1:
            points = points.unsqueeze(1)
        if points.dim() != 2 or points.shape[1] != space.dim or len(points) == 0:
            raise ShapeError(
                f"Data constraint {name!r}: points have shape {tuple(points.shape)}; expected "
                f"(N, {space.dim}) with N > 0 for {space!r}."
            )
        self.outputs = output_names(outputs)
        values = as_columns(torch.as_tensor(values), len(points), f"{name}: values").to(points)
        if values.shape[1] != len(self.outputs):
            raise ShapeError(
                f"Data constraint {name!r}: values have {values.shape[1]} columns for outputs "
                f"{list(self.outputs)}; give one column per output."
            )
        self.points, self.values = points, values
        self.columns = len(self.outputs)

    @classmethod
    def from_npz(
        cls,
        name: str,
        space: Space,
        path: str | Path,
        points_key: str = "x",
        values_key: str = "u",
        **kwargs: object,
    ) -> DataConstraint:
        """Read points and values from an ``.npz`` file (arrays ``points_key``, ``values_key``)."""
        with np.load(path) as data:
            missing = [key for key in (points_key, values_key) if key not in data]
            if missing:
                raise ConfigurationError(
                    f"{path}: arrays {missing} not found; it has {sorted(data.files)}."
                )
            return cls(name, space, data[points_key], data[values_key], **kwargs)  # type: ignore[arg-type]

    def sample(self, generator: torch.Generator) -> Batch:
        return {"x": self.points, "target": self.values}

    def residual(self, field: Field, batch: Batch) -> torch.Tensor:
        return output_values(field, self.outputs) - batch["target"]
