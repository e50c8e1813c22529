"""The per-step derivative cache: one ``torch.autograd.grad`` call per (output column, input).

Every derivative deepinn takes goes through :meth:`DerivativeCache.column_grad`, which
differentiates one column of a tensor with respect to an input tensor and remembers the result.
The gradient of a column is the full row of first derivatives, so the gradient, every first
partial and the starting point of every second derivative of that column share one backward
pass. Second derivatives differentiate a column of a cached gradient, which is itself a stable
tensor, so they are shared too (the Laplacian and the Hessian of one output cost one backward
per coordinate, together).

Keys are object identities. The cache keeps a reference to every tensor it was asked about, so an
identity cannot be reused by another tensor while the cache lives: make one cache per training
step (or per :class:`~deepinn.operators.Field`) and let it go afterwards.

Rows are assumed independent (output row ``n`` depends only on input row ``n``), as for every
point-wise network: the gradient of the sum of a column over the rows is then, row by row, the
gradient of that column.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import autograd as _torch_autograd

from deepinn._errors import ConfigurationError, ShapeError

__all__ = ["DerivativeCache", "Layout", "from_2d", "layout_of", "to_2d"]

Layout = Literal["rows", "point", "elementwise"]
"""How tensors map to the (N, columns) picture every operator works in.

``rows``: ``x`` is (N, d) and outputs are (N,) or (N, k). ``point``: ``x`` is one point, 1-D of
shape (d,) (or a 0-D scalar), and outputs are a scalar or a vector (k,). ``elementwise``: ``x`` is
1-D (N,) and the output has the same shape, one scalar input per row.
"""


_Key = tuple[int, int, int, str]  # (id(t), column, id(x), layout)


def layout_of(u: torch.Tensor, x: torch.Tensor, what: str = "u") -> Layout:
    """The layout of output ``u`` computed from input ``x``.

    Args:
        u: The output tensor.
        x: The input tensor the derivatives are taken with respect to.
        what: The name of ``u`` in error messages.

    Returns:
        ``'rows'`` for a 2-D ``x``; for a 1-D ``x``, ``'elementwise'`` when ``u`` has the shape of
        ``x`` and more than one element, ``'point'`` otherwise (also for a 0-D ``x``).

    Raises:
        ShapeError: The shapes do not fit any layout.
    """
    if not isinstance(u, torch.Tensor) or not isinstance(x, torch.Tensor):
        raise ConfigurationError(
            f"Derivatives need tensors; got {what} of type {type(u).__name__} and x of type "
            f"{type(x).__name__}. Pass torch tensors (use points.as_tensor for Points)."
        )
    if x.dim() == 2:
        if u.dim() not in (1, 2) or u.shape[0] != x.shape[0]:
            raise ShapeError(
                f"{what} has shape {tuple(u.shape)} but x has shape {tuple(x.shape)}: with a "
                f"2-D x of N={x.shape[0]} rows, {what} must be ({x.shape[0]},) or "
                f"({x.shape[0]}, k), one row per point."
            )
        return "rows"
    if x.dim() == 1:
        if u.shape == x.shape and x.numel() > 1:
            return "elementwise"
        if u.dim() > 1:
            raise ShapeError(
                f"{what} has shape {tuple(u.shape)} but x is one point of shape "
                f"{tuple(x.shape)}: {what} must be a scalar or a 1-D vector of outputs. For a "
                "batch of points give x the shape (N, d)."
            )
        return "point"
    if x.dim() == 0:
        if u.dim() > 1:
            raise ShapeError(
                f"{what} has shape {tuple(u.shape)} but x is a scalar: {what} must be a scalar "
                "or a 1-D vector of outputs."
            )
        return "point"
    raise ShapeError(
        f"x has shape {tuple(x.shape)}; derivatives are taken with respect to an (N, d) batch of "
        "points, one point of shape (d,), or an element-wise (N,) tensor. Reshape x to (N, d)."
    )


def to_2d(t: torch.Tensor, layout: Layout) -> torch.Tensor:
    """View ``t`` (an output, or a tensor shaped like ``x``) as (N, columns) under ``layout``."""
    if layout == "rows":
        return t.reshape(t.shape[0], -1)
    if layout == "point":
        return t.reshape(1, -1)
    return t.reshape(-1, 1)


def from_2d(t: torch.Tensor, layout: Layout, x: torch.Tensor) -> torch.Tensor:
    """Undo :func:`to_2d` on a result of shape (N, ...).

    ``rows`` results keep their shape; ``point`` results lose the leading axis of one row;
    ``elementwise`` results take the shape of ``x`` (one scalar per element).
    """
    if layout == "rows":
        return t
    if layout == "point":
        return t[0]
    return t.reshape(x.shape)


def check_input(x: torch.Tensor) -> None:
    """Raise a ConfigurationError when ``x`` cannot carry derivatives."""
    if not x.requires_grad:
        raise ConfigurationError(
            f"x (shape {tuple(x.shape)}) does not require grad, so nothing computed from it can "
            "be differentiated with respect to it. Call x.requires_grad_(True) before computing "
            "the outputs from x."
        )
    if not (x.is_floating_point() or x.is_complex()):
        raise ConfigurationError(
            f"x has dtype {x.dtype}; derivatives need a floating-point x. Convert it with "
            "x.double() or x.float() before computing the outputs."
        )


class DerivativeCache:
    """Memoised first derivatives of tensor columns, keyed on tensor identity.

    ``column_grad(t, j, x, layout)`` returns the derivatives of column ``j`` of ``t`` (viewed as
    (N, columns) under ``layout``) with respect to every coordinate of ``x``, shaped like ``x``.
    Asking again with the same tensors returns the stored result without a backward pass.

    Example:
        >>> cache = DerivativeCache()
        >>> g = cache.column_grad(u, 0, x, "rows")   # one torch.autograd.grad call
        >>> g is cache.column_grad(u, 0, x, "rows")  # no call
        True
    """

    def __init__(self) -> None:
        self._store: dict[_Key, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self.calls = 0
        """How many backward passes this cache has run (for tests and benchmarks)."""

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        """Forget every stored derivative (and the references that kept identities valid)."""
        self._store.clear()

    def column_grad(
        self, t: torch.Tensor, column: int, x: torch.Tensor, layout: Layout = "rows"
    ) -> torch.Tensor:
        """The derivatives of column ``column`` of ``t`` with respect to ``x``.

        Args:
            t: A tensor computed from ``x`` (an output, or a stored derivative).
            column: A column of ``to_2d(t, layout)``.
            x: The input tensor.
            layout: How ``t`` and ``x`` map to rows and columns (see :data:`Layout`).

        Returns:
            A tensor shaped like ``x`` that keeps its graph (``create_graph=True``), so it can be
            differentiated again and trained through. Zero when the column does not depend on
            ``x``.
        """
        key = (id(t), column, id(x), layout)
        hit = self._store.get(key)
        if hit is not None:
            return hit[2]
        col = to_2d(t, layout)[:, column]
        result: torch.Tensor | None = None
        if col.requires_grad:
            with torch.enable_grad():
                self.calls += 1
                (result,) = _torch_autograd.grad(
                    col,
                    x,
                    grad_outputs=torch.ones_like(col),
                    create_graph=True,
                    allow_unused=True,
                )
        if result is None:
            result = torch.zeros_like(x)
        self._store[key] = (t, x, result)
        return result

    def __repr__(self) -> str:
        return f"DerivativeCache({len(self)} derivatives, {self.calls} backward passes)"
