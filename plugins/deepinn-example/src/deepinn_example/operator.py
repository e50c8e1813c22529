"""TEMPLATE (operator): ``biharmonic``, the fourth-order operator lap(lap u), by autograd.

The operator factory contract is ``factory(params) -> callable``; like deepinn's built-in
operators the callable is ``op(u, x)``, where ``u`` is either the (N, 1) outputs computed from
``x`` (which must require grad) or the function (a network) itself, then evaluated at ``x``.

Row ``i`` of ``u`` must depend on row ``i`` of ``x`` only (true for every pointwise network):
the derivatives of all points then come from one backward pass of ``u.sum()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import torch
from deepinn import ConfigurationError, ShapeError

__all__ = ["BiharmonicParams", "biharmonic", "build_biharmonic", "laplacian"]

Operator = Callable[[Any, torch.Tensor], torch.Tensor]


def _gradient(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """d y / d x (N, d) of an (N,) or (N, 1) ``y``; zeros where ``y`` does not depend on ``x``."""
    if not y.requires_grad:  # e.g. the constant second derivative of a quadratic
        return torch.zeros_like(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def laplacian(u: torch.Tensor, x: torch.Tensor, columns: list[int] | None = None) -> torch.Tensor:
    """sum_j d2u/dx_j^2 over ``columns`` (default all) of an (N, 1) ``u``: (N, 1)."""
    g = _gradient(u, x)
    columns = list(range(x.shape[1])) if columns is None else columns
    total = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
    for j in columns:
        total = total + _gradient(g[:, j], x)[:, j : j + 1]
    return total


def biharmonic(u: Any, x: torch.Tensor, columns: list[int] | None = None) -> torch.Tensor:
    """lap(lap u) (N, 1): ``u`` is the outputs computed from ``x`` or the function itself.

    Raises:
        ShapeError: ``u`` does not have one column.
        ConfigurationError: A column index is out of range, or ``x`` does not require grad
            while ``u`` is a tensor (it was not computed from a differentiable ``x``).
    """
    if not isinstance(u, torch.Tensor):
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        u = u(x)
    elif not x.requires_grad:
        raise ConfigurationError(
            "biharmonic(u, x): x does not require grad, so u cannot be differentiated by it. "
            "Call x.requires_grad_(True) before computing u, or pass the function instead of u."
        )
    if u.dim() == 1:
        u = u.unsqueeze(1)
    if u.dim() != 2 or u.shape[1] != 1:
        raise ShapeError(f"biharmonic takes one output column (N, 1); got shape {tuple(u.shape)}.")
    if columns is not None and any(not 0 <= j < x.shape[1] for j in columns):
        raise ConfigurationError(
            f"biharmonic: columns={columns} out of range for {x.shape[1]} input columns."
        )
    return laplacian(laplacian(u, x, columns), x, columns)


@dataclass
class BiharmonicParams:
    """Parameters of ``operator=biharmonic``.

    Attributes:
        columns: The input columns to differentiate by (None: all of them).
    """

    columns: Optional[list[int]] = None


def build_biharmonic(params: BiharmonicParams) -> Operator:
    """The operator factory: ``factory(params) -> op(u, x)``."""
    columns = None if params.columns is None else list(params.columns)

    def operator(u: Any, x: torch.Tensor) -> torch.Tensor:
        return biharmonic(u, x, columns)

    return operator
