"""Forward Laplacian: value, gradient and Hessian diagonal in one forward pass.

Instead of nested reverse-mode autograd (one backward pass for the gradient, then one more per
second derivative), the derivatives are carried forward through the network alongside the value,
as *lanes*: one gradient lane per input coordinate and one second-derivative lane per marked
coordinate. With ``z = W h + b`` and ``h' = sigma(z)``::

    grad z = W grad h                         (a linear layer: one matmul over all lanes)
    diag z = W diag h
    grad h' = sigma'(z) grad z                (an elementwise activation)
    diag h' = sigma''(z) (grad z)**2 + sigma'(z) diag z

where ``diag`` is the lane ``d^2 / dx_i^2`` of a marked coordinate ``i``. When only the
Laplacian (the sum over the marked coordinates) is wanted, a single lane carries it instead:
``lap h' = sigma''(z) sum_i (grad_i z)**2 + sigma'(z) lap z``, which saves ``m - 1`` lanes.

Lanes are stored lane first, ``(lanes, N, width)``, so a linear layer is one ``(lanes * N, width)``
matmul and the activation's factors broadcast over the leading dimension. The input's gradient
lanes are the identity, kept broadcastable as ``(d, 1, d)`` until the first activation, and its
second-derivative lanes are zero (``None``), so the first layer costs no matmul over lanes.

Everything is plain differentiable torch, so a loss built from the returned derivatives
backpropagates to the parameters (and to the input, if it requires grad).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.nn._activations import AbstractActivation, Tanh

__all__ = [
    "Lanes",
    "Marked",
    "SupportsForwardDerivatives",
    "activation_lanes",
    "check_input",
    "input_lanes",
    "linear_lanes",
    "marked_coordinates",
    "output_derivatives",
    "output_laplacian",
]

Second = torch.Tensor | Sequence[bool] | None
"""Which coordinates need second derivatives: a bool tensor or sequence of length d, or None
(all of them)."""


@runtime_checkable
class SupportsForwardDerivatives(Protocol):
    """A network that computes its derivatives in one forward pass (see ``forward_derivatives``)."""

    def forward_derivatives(
        self, x: torch.Tensor, second: Second = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(u, du, d2u)`` of shapes (N, k), (N, k, d), (N, k, d)."""
        ...


class Marked(NamedTuple):
    """The coordinates whose second derivatives are carried.

    Attributes:
        dim: The number of input coordinates d.
        indices: The marked coordinates, increasing.
        window: ``slice(a, b)`` when the marked coordinates are the contiguous range [a, b)
            (the usual case: all of them, or x without t), else None.
        summed: Carry one Laplacian lane (the sum over the marked coordinates) instead of one
            lane per marked coordinate.
    """

    dim: int
    indices: tuple[int, ...]
    window: slice | None
    summed: bool = False

    @property
    def count(self) -> int:  # type: ignore[override]  # shadows tuple.count on purpose
        """The number of marked coordinates."""
        return len(self.indices)

    @property
    def all(self) -> bool:
        """Whether every coordinate is marked."""
        return len(self.indices) == self.dim

    def select(self, lanes: torch.Tensor) -> torch.Tensor:
        """The marked lanes of a ``(d, ...)`` lane tensor."""
        if self.all:
            return lanes
        if self.window is not None:
            return lanes[self.window]
        index = torch.tensor(self.indices, device=lanes.device)
        return lanes.index_select(0, index)

    def scatter(self, lanes: torch.Tensor) -> torch.Tensor:
        """Place ``(m, ...)`` marked lanes into a ``(d, ...)`` tensor, zeros elsewhere."""
        if self.all:
            return lanes
        if self.window is not None:
            pad = [0, 0] * (lanes.dim() - 1) + [self.window.start, self.dim - self.window.stop]
            return F.pad(lanes, pad)
        index = torch.tensor(self.indices, device=lanes.device)
        full = lanes.new_zeros((self.dim, *lanes.shape[1:]))
        return full.index_copy(0, index, lanes)


def marked_coordinates(second: Second, dim: int, summed: bool = False) -> Marked:
    """Validate ``second`` and return the marked coordinates.

    Args:
        second: A bool tensor or sequence of bools of length ``dim`` marking the coordinates
            whose second derivatives are needed, or None for all of them. A Python sequence
            avoids a device synchronisation on GPUs.
        dim: The number of input coordinates.
        summed: Carry only the Laplacian (sum over the marked coordinates).

    Returns:
        The marked coordinates.

    Raises:
        ShapeError: ``second`` does not have ``dim`` entries.
        ConfigurationError: ``second`` is not made of booleans.
    """
    if second is None:
        return Marked(dim, tuple(range(dim)), slice(0, dim), summed)
    if isinstance(second, torch.Tensor):
        if second.dim() != 1:
            raise ShapeError(
                f"second must be a 1-D bool tensor of length {dim}, got shape "
                f"{tuple(second.shape)}."
            )
        if second.dtype != torch.bool:
            raise ConfigurationError(
                f"second must be a bool tensor (one flag per coordinate), got dtype "
                f"{second.dtype}; pass e.g. torch.tensor([True, False])."
            )
        flags = [bool(v) for v in second.tolist()]
    else:
        try:
            flags = list(second)
        except TypeError:
            raise ConfigurationError(
                f"second must be a sequence of {dim} bools or a bool tensor, got {second!r}."
            ) from None
        if not all(isinstance(f, (bool, np.bool_)) for f in flags):
            raise ConfigurationError(
                f"second must hold bools (one flag per coordinate), got {second!r}; pass e.g. "
                f"{[True] * dim}."
            )
    if len(flags) != dim:
        raise ShapeError(
            f"second has {len(flags)} flags but the input has {dim} coordinates; pass one bool "
            "per coordinate."
        )
    indices = tuple(i for i, flag in enumerate(flags) if bool(flag))
    window = None
    if indices and indices[-1] - indices[0] + 1 == len(indices):
        window = slice(indices[0], indices[-1] + 1)
    return Marked(dim, indices, window, summed)


class Lanes(NamedTuple):
    """The forward-mode state after a layer.

    Attributes:
        value: ``(N, width)`` activations.
        grad: ``(d, N, width)`` (or broadcastable ``(d, 1, width)``) first derivatives.
        diag: ``(m, N, width)`` second derivatives of the marked coordinates (``(1, N, width)``,
            their sum, in Laplacian mode), or None when they are identically zero.
    """

    value: torch.Tensor
    grad: torch.Tensor
    diag: torch.Tensor | None


def check_input(x: torch.Tensor, in_dim: int) -> None:
    """Raise ShapeError unless ``x`` is an ``(N, in_dim)`` tensor."""
    if not isinstance(x, torch.Tensor):
        raise ShapeError(
            f"Forward-mode derivatives need an (N, {in_dim}) tensor, got {type(x).__name__}; "
            "pass points.as_tensor."
        )
    if x.dim() != 2 or x.shape[1] != in_dim:
        raise ShapeError(
            f"Forward-mode derivatives need x of shape (N, {in_dim}), got {tuple(x.shape)}; "
            f"reshape it to (N, {in_dim})."
        )


_EYES: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def input_lanes(x: torch.Tensor) -> Lanes:
    """The lanes of the input itself: identity gradient, zero second derivatives.

    The identity is made once per size, dtype and device in eager mode (it never changes and
    nothing writes to it), inside the graph under ``torch.compile``.
    """
    dim = x.shape[-1]
    if torch.compiler.is_compiling():
        return Lanes(x, torch.eye(dim, dtype=x.dtype, device=x.device).unsqueeze(1), None)
    key = (dim, x.dtype, x.device)
    eye = _EYES.get(key)
    if eye is None:
        eye = _EYES[key] = torch.eye(dim, dtype=x.dtype, device=x.device).unsqueeze(1)
    return Lanes(x, eye, None)


def linear_lanes(lanes: Lanes, weight: torch.Tensor, bias: torch.Tensor | None) -> Lanes:
    """Propagate through ``z = W h + b``: one matmul for the value and one per lane kind."""
    value = F.linear(lanes.value, weight, bias)
    grad = F.linear(lanes.grad, weight)
    diag = None if lanes.diag is None else F.linear(lanes.diag, weight)
    return Lanes(value, grad, diag)


def activation_lanes(lanes: Lanes, activation: AbstractActivation, marked: Marked) -> Lanes:
    """Propagate through an elementwise activation with its analytic sigma' and sigma''."""
    if type(activation) is Tanh:
        return _tanh_lanes(lanes, marked)
    value, d1, d2 = activation.derivatives(lanes.value)
    grad_z = lanes.grad
    grad = d1 * grad_z
    diag: torch.Tensor | None = None
    if marked.count:
        chosen = marked.select(grad_z)
        square = chosen * chosen
        if marked.summed and marked.count > 1:
            square = square.sum(dim=0, keepdim=True)
        diag = d2 * square
        if lanes.diag is not None:
            diag = torch.addcmul(diag, d1, lanes.diag)
    return Lanes(value, grad, diag)


def _tanh_lanes(lanes: Lanes, marked: Marked) -> Lanes:
    """:func:`activation_lanes` of tanh in fewer operators (each one a kernel forward and
    backward, what a small network's step costs): sigma' = 1 - t^2 and sigma'' = -2 t sigma',
    so the second-derivative lane is ``sigma' * (diag - 2 t g^2)``, and sigma'' is never formed.
    """
    t = torch.tanh(lanes.value)
    d1 = 1.0 - t * t
    grad = d1 * lanes.grad
    diag: torch.Tensor | None = None
    if marked.count:
        chosen = marked.select(lanes.grad)
        square = chosen * chosen
        if marked.summed and marked.count > 1:
            square = square.sum(dim=0, keepdim=True)
        if lanes.diag is None:
            inner = (t * square) * -2.0
        else:
            inner = torch.addcmul(lanes.diag, t, square, value=-2.0)
        diag = d1 * inner
    return Lanes(t, grad, diag)


def output_derivatives(
    lanes: Lanes, marked: Marked
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn the final lanes into ``(u, du, d2u)`` of shapes (N, k), (N, k, d), (N, k, d).

    ``du`` and ``d2u`` are views of lane-first storage (not contiguous); index them freely.
    """
    value = lanes.value
    n, k = value.shape
    grad = lanes.grad
    if grad.shape[1] != n:
        grad = grad.expand(marked.dim, n, k)
    if lanes.diag is None:
        diag = value.new_zeros((marked.dim, n, k))
    else:
        diag = lanes.diag
        if diag.shape[1] != n:
            diag = diag.expand(marked.count, n, k)
        diag = marked.scatter(diag)
    return value, grad.permute(1, 2, 0), diag.permute(1, 2, 0)


def output_laplacian(
    lanes: Lanes, marked: Marked
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn Laplacian-mode lanes into ``(u, du, lap)`` of shapes (N, k), (N, k, d), (N, k)."""
    value = lanes.value
    n, k = value.shape
    grad = lanes.grad
    if grad.shape[1] != n:
        grad = grad.expand(marked.dim, n, k)
    lap = value.new_zeros((n, k)) if lanes.diag is None else lanes.diag[0].expand(n, k)
    return value, grad.permute(1, 2, 0), lap
