"""Conversions between deepinn's point tensors and the numpy arrays trimesh and shapely use."""

from __future__ import annotations

import numpy as np
import torch
from deepinn import ConfigurationError, ShapeError
from deepinn.spaces import Points, Space

__all__ = ["check_n", "to_numpy", "to_tensor"]


def to_numpy(points: torch.Tensor | Points, space: Space) -> np.ndarray:
    """The (N, space.dim) float64 array of ``points``; a wrong shape raises ``ShapeError``."""
    tensor = points.as_tensor if isinstance(points, Points) else torch.as_tensor(points)
    if tensor.dim() != 2 or tensor.shape[1] != space.dim:
        raise ShapeError(
            f"Points of {space!r} need a tensor of shape (N, {space.dim}); "
            f"got {tuple(tensor.shape)}."
        )
    return tensor.detach().to("cpu", torch.float64).numpy()


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """A float64 tensor holding a copy of ``array``."""
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64)


def check_n(n: int) -> None:
    """Reject a sample size that is not a non-negative int."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigurationError(f"The number of points must be an int >= 0; got {n!r}.")
