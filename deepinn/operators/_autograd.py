"""Functional reverse-mode derivative operators over ``torch.autograd``.

Each operator takes the outputs ``u`` and the input ``x`` they were computed from (``x`` must
require grad) and keeps ``create_graph=True``, so results can be differentiated again and trained
through. Pass one :class:`~deepinn.operators.DerivativeCache` as ``cache=`` to several calls to
share their backward passes; without one each call uses a fresh cache.

Shapes: with a 2-D ``x`` of shape (N, d), ``u`` is (N,) or (N, k) and results are per row. With a
1-D ``x`` of shape (d,) (one point) and a scalar or (k,) ``u``, results drop the row axis
(``grad`` is (d,)). With a 1-D ``x`` and ``u`` of the same shape (an element-wise function),
results have the shape of ``x``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.operators._cache import (
    DerivativeCache,
    Layout,
    check_input,
    from_2d,
    layout_of,
    to_2d,
)

__all__ = ["divergence", "grad", "hessian", "jacobian", "laplacian", "partial"]


def _prepare(
    u: torch.Tensor, x: torch.Tensor, cache: DerivativeCache | None, what: str = "u"
) -> tuple[DerivativeCache, Layout, int, int]:
    """Validate ``u`` and ``x``; return the cache, the layout, k outputs and d coordinates."""
    layout = layout_of(u, x, what)
    check_input(x)
    k = to_2d(u, layout).shape[1]
    d = to_2d(x, layout).shape[1]
    return (cache if cache is not None else DerivativeCache()), layout, k, d


def _single_output(k: int, u: torch.Tensor, op: str) -> None:
    if k != 1:
        raise ShapeError(
            f"{op} needs one output column, but u has shape {tuple(u.shape)} ({k} columns). "
            f"Select one column (u[:, i:i+1]) or use jacobian(u, x) for all of them."
        )


def check_column(column: object, d: int, what: str = "column") -> int:
    """Return ``column`` as an int in ``0..d-1`` or raise a ShapeError naming it."""
    if isinstance(column, bool) or not isinstance(column, int):
        if (
            isinstance(column, torch.Tensor)
            and not column.is_floating_point()
            and column.numel() == 1
        ):
            column = int(column.item())
        else:
            raise ConfigurationError(
                f"{what} {column!r} must be an int column index of x, 0..{d - 1}."
            )
    if not 0 <= column < d:
        raise ShapeError(
            f"{what} {column} is out of range: x has {d} coordinate column(s), so it must be "
            f"in 0..{d - 1}."
        )
    return column


def check_columns(columns: Sequence[int] | None, d: int) -> list[int]:
    """Validate a list of distinct column indices (None means all ``d``)."""
    if columns is None:
        return list(range(d))
    if isinstance(columns, int):
        columns = [columns]
    result = [check_column(c, d) for c in columns]
    if not result:
        raise ConfigurationError(
            "columns is empty; name at least one column of x, or pass None for all of them."
        )
    if len(set(result)) != len(result):
        raise ConfigurationError(
            f"columns {result} repeats a column; each coordinate may appear once."
        )
    return result


def grad(u: torch.Tensor, x: torch.Tensor, *, cache: DerivativeCache | None = None) -> torch.Tensor:
    """The gradient of one output with respect to every coordinate of ``x``.

    Args:
        u: Outputs of shape (N, 1) or (N,) for a 2-D ``x``; a scalar or (1,) for one point
            ``x`` of shape (d,); or the shape of a 1-D ``x`` for an element-wise function.
        x: The input, requiring grad.
        cache: A cache to share backward passes with other calls.

    Returns:
        A tensor shaped like ``x``: (N, d) rows of du/dx_j, (d,) for one point, (N,) du/dx for
        an element-wise function.

    Raises:
        ShapeError: ``u`` has several output columns, or shapes do not match.
        ConfigurationError: ``x`` does not require grad.
    """
    cache, layout, k, _ = _prepare(u, x, cache)
    _single_output(k, u, "grad")
    return cache.column_grad(u, 0, x, layout)


def partial(
    u: torch.Tensor, x: torch.Tensor, *columns: int, cache: DerivativeCache | None = None
) -> torch.Tensor:
    """A repeated partial derivative: ``partial(u, x, 0, 1)`` is d2u / dx_0 dx_1.

    The derivative by the first listed column is taken first. With no column it returns ``u``
    as a column.

    Args:
        u: One output column (see :func:`grad` for shapes).
        x: The input, requiring grad.
        *columns: Column indices of ``x``.
        cache: A cache to share backward passes with other calls.

    Returns:
        (N, 1) for a 2-D ``x``; (1,) for one point; the shape of ``x`` for an element-wise
        function.

    Raises:
        ShapeError: A column is out of range or ``u`` has several columns.
    """
    cache, layout, k, d = _prepare(u, x, cache)
    _single_output(k, u, "partial")
    checked = [check_column(c, d) for c in columns]
    t, out = u, 0
    for column in checked:
        t, out = cache.column_grad(t, out, x, layout), column
    return from_2d(to_2d(t, layout)[:, out : out + 1], layout, x)


def jacobian(
    u: torch.Tensor, x: torch.Tensor, *, cache: DerivativeCache | None = None
) -> torch.Tensor:
    """The Jacobian du_i / dx_j of every output with respect to every coordinate.

    Args:
        u: Outputs (N, k) (or (N,)) for a 2-D ``x``; (k,) or a scalar for one point.
        x: The input, requiring grad.
        cache: A cache to share backward passes with other calls.

    Returns:
        (N, k, d); (k, d) for one point; the shape of ``x`` for an element-wise function. One
        backward pass per output column.
    """
    cache, layout, k, _ = _prepare(u, x, cache)
    rows = [to_2d(cache.column_grad(u, i, x, layout), layout) for i in range(k)]
    return from_2d(torch.stack(rows, dim=1), layout, x)


def hessian(
    u: torch.Tensor, x: torch.Tensor, *, cache: DerivativeCache | None = None
) -> torch.Tensor:
    """The Hessian d2u / dx_i dx_j of one output.

    Args:
        u: One output column (see :func:`grad` for shapes).
        x: The input, requiring grad.
        cache: A cache to share backward passes with other calls.

    Returns:
        (N, d, d); (d, d) for one point; the shape of ``x`` for an element-wise function. One
        backward for the gradient plus one per coordinate (shared with :func:`laplacian`).
    """
    cache, layout, k, d = _prepare(u, x, cache)
    _single_output(k, u, "hessian")
    g = cache.column_grad(u, 0, x, layout)
    rows = [to_2d(cache.column_grad(g, j, x, layout), layout) for j in range(d)]
    return from_2d(torch.stack(rows, dim=1), layout, x)


def laplacian(
    u: torch.Tensor,
    x: torch.Tensor,
    columns: Sequence[int] | None = None,
    *,
    cache: DerivativeCache | None = None,
) -> torch.Tensor:
    """The Laplacian: the sum of d2u / dx_j^2 over ``columns`` (default: every column of x).

    Args:
        u: One output column (see :func:`grad` for shapes).
        x: The input, requiring grad.
        columns: Column indices of ``x`` to sum over, e.g. ``[1, 2]`` for the spatial part of
            (t, x0, x1); None for all.
        cache: A cache to share backward passes with other calls.

    Returns:
        (N, 1); (1,) for one point; the shape of ``x`` for an element-wise function.
    """
    cache, layout, k, d = _prepare(u, x, cache)
    _single_output(k, u, "laplacian")
    checked = check_columns(columns, d)
    g = cache.column_grad(u, 0, x, layout)
    terms = [to_2d(cache.column_grad(g, j, x, layout), layout)[:, j : j + 1] for j in checked]
    return from_2d(torch.stack(terms, dim=0).sum(dim=0), layout, x)


def divergence(
    v: torch.Tensor,
    x: torch.Tensor,
    columns: Sequence[int] | None = None,
    *,
    cache: DerivativeCache | None = None,
) -> torch.Tensor:
    """The divergence sum_i dv_i / dx_{columns[i]} of a vector field.

    Args:
        v: The vector field (N, m), one column per entry of ``columns``.
        x: The input, requiring grad.
        columns: The coordinate each component is differentiated by; None for all ``d``
            columns of ``x`` (then ``m`` must equal ``d``).
        cache: A cache to share backward passes with other calls.

    Returns:
        (N, 1); (1,) for one point. One backward pass per component.

    Raises:
        ShapeError: ``v`` has a different number of components than ``columns``.
    """
    cache, layout, m, d = _prepare(v, x, cache, what="v")
    checked = check_columns(columns, d)
    if m != len(checked):
        raise ShapeError(
            f"divergence: v has {m} component(s) (shape {tuple(v.shape)}) but {len(checked)} "
            f"coordinate column(s) {checked} were given; pass one column per component "
            "(columns=[...]) or a v with one column per coordinate of x."
        )
    terms = [
        to_2d(cache.column_grad(v, i, x, layout), layout)[:, j : j + 1]
        for i, j in enumerate(checked)
    ]
    return from_2d(torch.stack(terms, dim=0).sum(dim=0), layout, x)
