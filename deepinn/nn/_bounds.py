"""Input normalisation: the affine map that sends a bounding box onto [-1, 1]^d."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError, ShapeError

__all__ = ["Bounds", "fold_normalisation", "normalisation_affine"]

Bounds = tuple[torch.Tensor | Sequence[float], torch.Tensor | Sequence[float]]
"""``(lower, upper)``: two tensors or sequences of length ``in_dim`` (a domain's bounding box)."""


def _corner(value: Any, which: str, in_dim: int) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(value, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as error:
        raise ConfigurationError(
            f"bounds: the {which} corner {value!r} is not a sequence of numbers ({error}). "
            f"Pass bounds=(lower, upper) with {in_dim} numbers each."
        ) from None
    if tensor.dim() == 0 and in_dim == 1:
        tensor = tensor.reshape(1)
    if tensor.shape != (in_dim,):
        raise ShapeError(
            f"bounds: the {which} corner has shape {tuple(tensor.shape)}, but the network has "
            f"in_dim={in_dim}; pass {in_dim} numbers per corner (the domain's bounding box)."
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ConfigurationError(
            f"bounds: the {which} corner {tensor.tolist()} is not finite; the input "
            "normalisation needs a bounded box."
        )
    return tensor


def normalisation_affine(bounds: Bounds, in_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(scale, shift)`` with ``scale * x + shift`` mapping the box onto [-1, 1]^d.

    Args:
        bounds: ``(lower, upper)`` corners, each of length ``in_dim``.
        in_dim: The number of input coordinates.

    Returns:
        Two float64 tensors of shape ``(in_dim,)``: ``scale = 2 / (upper - lower)`` and
        ``shift = -(upper + lower) / (upper - lower)``.

    Raises:
        ConfigurationError: ``bounds`` is not a pair, not finite, or degenerate
            (``upper <= lower`` in some coordinate).
        ShapeError: A corner does not have ``in_dim`` entries.
    """
    if isinstance(bounds, (str, bytes)) or not isinstance(bounds, (Sequence, tuple)):
        raise ConfigurationError(
            f"bounds must be a pair (lower, upper) of corners, got {bounds!r}. Pass a domain's "
            "bounding_box() or None to switch input normalisation off."
        )
    if len(bounds) != 2:
        raise ConfigurationError(
            f"bounds must be a pair (lower, upper), got {len(bounds)} items: {bounds!r}."
        )
    lower = _corner(bounds[0], "lower", in_dim)
    upper = _corner(bounds[1], "upper", in_dim)
    width = upper - lower
    bad = [i for i in range(in_dim) if not width[i] > 0]
    if bad:
        details = ", ".join(
            f"coordinate {i}: lower={lower[i].item():g}, upper={upper[i].item():g}" for i in bad
        )
        raise ConfigurationError(
            f"bounds are degenerate ({details}); every coordinate needs upper > lower. Pass the "
            "bounding box of a domain with positive extent in every coordinate, or bounds=None."
        )
    return 2.0 / width, -(upper + lower) / width


def fold_normalisation(
    weight: torch.Tensor,
    bias: torch.Tensor,
    scale: torch.Tensor | None,
    shift: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold ``x -> scale * x + shift`` into a layer: ``W (s x + c) + b = (W s) x + (W c + b)``.

    With ``scale`` None the layer is returned unchanged.
    """
    if scale is None or shift is None:
        return weight, bias
    return weight * scale, torch.addmv(bias, weight, shift)
