"""``dp.utils.scatter``: a matplotlib figure of sampled points (object API, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.spaces import Points, Space

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["scatter"]


def _columns(source: object, space: Space) -> np.ndarray:
    """The (N, space.dim) coordinates of one source, as a float64 numpy array."""
    if hasattr(source, "sample_points"):
        source = cast(Any, source).sample_points()
    if isinstance(source, Points):
        if source.space == space:
            tensor = source.as_tensor
        else:
            missing = [v for v in space.variables if v not in source.space]
            if missing:
                raise ShapeError(
                    f"scatter: points of {source.space!r} have no variable(s) {missing} of "
                    f"{space!r}; pass the space the points were sampled in."
                )
            tensor = torch.cat([source[v] for v in space.variables], dim=1)
    elif isinstance(source, (torch.Tensor, np.ndarray, list, tuple)):
        tensor = torch.as_tensor(
            np.asarray(
                source.detach().cpu() if isinstance(source, torch.Tensor) else source,
                dtype=np.float64,
            )
        )
        if tensor.dim() == 1 and space.dim == 1:
            tensor = tensor.unsqueeze(1)
    else:
        raise ConfigurationError(
            f"scatter draws samplers, Points, tensors or arrays; got {type(source).__name__}."
        )
    if tensor.dim() != 2 or tensor.shape[1] != space.dim:
        raise ShapeError(
            f"scatter: points for {space!r} need shape (N, {space.dim}); got {tuple(tensor.shape)}."
        )
    return tensor.detach().cpu().to(torch.float64).numpy()


def scatter(
    space: Space,
    *samplers: object,
    labels: Sequence[str] | None = None,
    size: float = 4.0,
    figsize: tuple[float, float] = (5.0, 5.0),
) -> Figure:
    """Plot the points of each sampler (or Points, tensor, array) in one figure.

    A sampler draws once (``sample_points()``). The columns of ``space``'s variables are drawn:
    on a line (1-D), in the plane (2-D) or in 3-D axes.

    Args:
        space: The space to draw in, e.g. ``R2('x')``; 1 to 3 coordinates.
        *samplers: Samplers, ``Points``, (N, d) tensors or arrays.
        labels: One legend label per source (default: the sampler's class name or ``set i``).
        size: Marker size.
        figsize: Figure size in inches.

    Returns:
        A ``matplotlib.figure.Figure`` (not attached to pyplot; save it with ``savefig``).

    Raises:
        ShapeError: The space has more than 3 coordinates or points have the wrong shape.
        ConfigurationError: ``labels`` does not give one label per source.
    """
    from matplotlib.figure import Figure

    if not isinstance(space, Space):
        raise ConfigurationError(f"scatter needs a space first, e.g. R2('x'); got {space!r}.")
    if not 1 <= space.dim <= 3:
        raise ShapeError(
            f"scatter draws 1-, 2- or 3-D points; {space!r} has {space.dim} coordinates. "
            "Pass a sub-space, e.g. R2('x')."
        )
    if labels is not None and len(labels) != len(samplers):
        raise ConfigurationError(
            f"scatter got {len(labels)} labels for {len(samplers)} point sets; give one each."
        )
    names = space.coordinate_names()
    figure = Figure(figsize=figsize)
    axes = figure.add_subplot(projection="3d" if space.dim == 3 else None)
    for index, source in enumerate(samplers):
        label = (
            labels[index]
            if labels is not None
            else (type(source).__name__ if hasattr(source, "sample_points") else f"set {index}")
        )
        x = _columns(source, space)
        if space.dim == 1:
            axes.scatter(x[:, 0], np.zeros(len(x)), s=size, label=label)
        elif space.dim == 2:
            axes.scatter(x[:, 0], x[:, 1], s=size, label=label)
        else:
            axes.scatter(x[:, 0], x[:, 1], zs=x[:, 2], s=size, label=label)  # 3-D axes
    axes.set_xlabel(names[0])
    if space.dim == 1:
        axes.set_yticks([])
    else:
        axes.set_ylabel(names[1])
    if space.dim == 2:
        axes.set_aspect("equal", adjustable="datalim")
    if space.dim == 3:
        axes.set_zlabel(names[2])  # type: ignore[attr-defined]
    if samplers:
        axes.legend(loc="best", fontsize="small")
    return figure
