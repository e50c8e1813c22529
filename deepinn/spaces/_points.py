"""Points: an (N, d) tensor that knows its space."""

from __future__ import annotations

from typing import Any

import torch

from deepinn._errors import ShapeError
from deepinn.spaces._space import Space

__all__ = ["Points"]


class Points:
    """A batch of N points of a space, stored as one (N, space.dim) tensor.

    ``points.as_tensor`` is the raw tensor; ``points['x']`` the columns of variable ``x``.
    """

    def __init__(self, tensor: torch.Tensor, space: Space) -> None:
        if not isinstance(tensor, torch.Tensor):
            tensor = torch.as_tensor(tensor)
        if tensor.dim() == 1 and space.dim == 1:
            tensor = tensor.unsqueeze(1)
        if tensor.dim() != 2 or tensor.shape[1] != space.dim:
            raise ShapeError(
                f"Points of {space!r} need a tensor of shape (N, {space.dim}); "
                f"got {tuple(tensor.shape)}."
            )
        self._tensor = tensor
        self.space = space

    @property
    def as_tensor(self) -> torch.Tensor:
        """The (N, d) tensor."""
        return self._tensor

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._tensor[:, self.space.slice(name)]

    def __len__(self) -> int:
        return self._tensor.shape[0]

    @property
    def shape(self) -> torch.Size:
        return self._tensor.shape

    def to(self, *args: Any, **kwargs: Any) -> Points:
        """A copy on another device or dtype (same arguments as ``torch.Tensor.to``)."""
        return Points(self._tensor.to(*args, **kwargs), self.space)

    def __or__(self, other: Points) -> Points:
        """Concatenate two batches of the same space."""
        if other.space != self.space:
            raise ShapeError(f"Cannot join points of {self.space!r} and {other.space!r}.")
        return Points(torch.cat([self._tensor, other._tensor]), self.space)

    def __repr__(self) -> str:
        return f"Points({len(self)} of {self.space!r})"
