"""The base of networks that carry their derivatives forward (see ``_forward_laplacian``).

A subclass defines ``in_dim`` and ``forward_lanes(lanes, marked)``; this base turns that into
the ``forward_derivatives`` / ``forward_laplacian`` protocol that ``deepinn.operators.Field``
uses to take second derivatives in the forward pass.
"""

from __future__ import annotations

from typing import Any

import torch

from deepinn._errors import ShapeError
from deepinn.nn import _forward_laplacian as fl

__all__ = ["AbstractLaneNetwork", "as_points"]


def as_points(x: Any, in_dim: int) -> torch.Tensor:
    """Accept deepinn Points (anything with ``as_tensor``) as well as tensors.

    Raises:
        ShapeError: ``x`` is neither.
    """
    if isinstance(x, torch.Tensor):
        return x
    tensor = getattr(x, "as_tensor", None)
    if isinstance(tensor, torch.Tensor):
        return tensor
    raise ShapeError(
        f"The network needs a tensor of shape (N, {in_dim}) or ({in_dim},), got {type(x).__name__}."
    )


def check_last_dim(x: torch.Tensor, in_dim: int, dtype: torch.dtype | None = None) -> None:
    """Raise ShapeError unless ``x`` is ``(N, in_dim)`` or ``(in_dim,)`` (and, given the
    weights' ``dtype``, of that dtype)."""
    if x.dim() == 0 or x.shape[-1] != in_dim:
        raise ShapeError(
            f"The network expects inputs of shape (N, {in_dim}) or ({in_dim},), "
            f"got {tuple(x.shape)}; the last dimension must be in_dim={in_dim}."
        )
    if dtype is not None and x.dtype != dtype:
        raise ShapeError(
            f"The network's weights are {dtype} but the points are {x.dtype}; convert one of "
            f"them: x.to({dtype}) or network.to({x.dtype})."
        )


class AbstractLaneNetwork(torch.nn.Module):
    """A network with ``forward_lanes``: value, gradient and second derivatives in one pass.

    Subclasses set ``in_dim`` and implement :meth:`forward_lanes` (from the lanes of the raw
    input to the lanes of the output).
    """

    in_dim: int

    def forward_lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        """Propagate forward-mode lanes from the raw input to the output."""
        raise NotImplementedError

    def forward_derivatives(
        self, x: torch.Tensor, second: fl.Second = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Value, gradient and Hessian diagonal in one forward pass (forward Laplacian).

        Args:
            x: ``(N, d)`` points, ``d = in_dim``. If ``x`` requires grad, the results are
                differentiable w.r.t. it too (mixed partials can be taken by autograd).
            second: Bool tensor or sequence of ``d`` bools marking the coordinates whose second
                derivatives are needed (e.g. ``(True, True, False)`` for x but not t); None marks
                all of them. A tuple of bools avoids a device synchronisation on GPUs.

        Returns:
            ``(u, du, d2u)``: ``u`` of shape (N, k), ``du[n, j, i] = du_j/dx_i`` of shape
            (N, k, d) and ``d2u[n, j, i] = d^2 u_j / dx_i^2`` for marked ``i`` (zero elsewhere),
            shape (N, k, d). All are differentiable w.r.t. the parameters; ``du`` and ``d2u``
            are (non-contiguous) views.

        Raises:
            ShapeError: ``x`` is not ``(N, in_dim)`` or ``second`` has the wrong length.
            ConfigurationError: ``second`` is not made of bools.
        """
        x = self._check_points(x)
        marked = fl.marked_coordinates(second, self.in_dim)
        lanes = self.forward_lanes(fl.input_lanes(x), marked)
        return fl.output_derivatives(lanes, marked)

    def forward_laplacian(
        self, x: torch.Tensor, second: fl.Second = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Value, gradient and Laplacian in one forward pass, carrying a single Laplacian lane.

        Cheaper than :meth:`forward_derivatives` when the residual needs only the sum of the
        second derivatives (one lane instead of one per marked coordinate).

        Args:
            x: ``(N, d)`` points, ``d = in_dim``.
            second: The coordinates summed over, as in :meth:`forward_derivatives` (None: all;
                ``(True, True, False)``: the Laplacian in x of a u(x, y, t)).

        Returns:
            ``(u, du, lap)`` of shapes (N, k), (N, k, d) and (N, k), with
            ``lap[n, j] = sum_{marked i} d^2 u_j / dx_i^2``.

        Raises:
            ShapeError: ``x`` is not ``(N, in_dim)`` or ``second`` has the wrong length.
            ConfigurationError: ``second`` is not made of bools.
        """
        x = self._check_points(x)
        marked = fl.marked_coordinates(second, self.in_dim, summed=True)
        lanes = self.forward_lanes(fl.input_lanes(x), marked)
        return fl.output_laplacian(lanes, marked)

    def _check_points(self, x: Any) -> torch.Tensor:
        x = as_points(x, self.in_dim)
        fl.check_input(x, self.in_dim)
        return x
