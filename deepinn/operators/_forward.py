"""Forward-mode second derivatives through ``torch.func.jvp``.

A second derivative d2u / dx_a dx_b is two nested Jacobian-vector products of the batched
function with one-hot tangents (ones in column a, then in column b). Rows are independent, so one
tangent per coordinate serves every row at once and no ``vmap`` is needed; one nested product
gives the derivative of every output. The results stay on PyTorch's autograd tape, so a loss
built from them trains the network parameters with ``loss.backward()``.

These operators take the *function* (a network) rather than its values: forward mode
re-evaluates it with dual numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.operators._autograd import check_column, check_columns

__all__ = ["directional_derivative", "forward_hessian", "forward_laplacian"]

Function = Callable[[torch.Tensor], torch.Tensor]


def _as_2d_function(fn: Function, n: int) -> Function:
    """Wrap ``fn`` so it returns (N, k)."""

    def wrapped(z: torch.Tensor) -> torch.Tensor:
        out = fn(z)
        if not isinstance(out, torch.Tensor):
            raise ConfigurationError(
                f"Forward mode needs a function returning a tensor; got {type(out).__name__}."
            )
        if out.dim() == 1 and out.shape[0] == n:
            return out.unsqueeze(1)
        if out.dim() != 2 or out.shape[0] != n:
            raise ShapeError(
                f"The function returned shape {tuple(out.shape)} for {n} points; it must return "
                f"({n}, k) or ({n},)."
            )
        return out

    return wrapped


def _check_x(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(
            f"Forward-mode operators need a floating-point x of shape (N, d); got {shape}. "
            "Reshape x to (N, d) or use the reverse-mode operators."
        )


def _one_hot(x: torch.Tensor, column: int) -> torch.Tensor:
    tangent = torch.zeros_like(x)
    tangent[:, column] = 1
    return tangent


def directional_derivative(fn: Function, x: torch.Tensor, columns: Sequence[int]) -> torch.Tensor:
    """The derivative d^m fn / dx_{c1} ... dx_{cm} by nested forward-mode products.

    Args:
        fn: Maps an (N, d) tensor to (N, k) (or (N,)) outputs, row by row.
        x: The (N, d) input.
        columns: The coordinate columns, at least one.

    Returns:
        (N, k): the derivative of every output, on the autograd tape (trainable).

    Raises:
        ShapeError: ``x`` is not (N, d), a column is out of range, or ``fn`` returns a bad shape.
        ConfigurationError: No column was given, or ``fn`` cannot run under forward mode.
    """
    _check_x(x)
    d = x.shape[1]
    checked = [check_column(c, d) for c in columns]
    if not checked:
        raise ConfigurationError(
            "directional_derivative needs at least one column; for values call fn(x)."
        )
    f = _as_2d_function(fn, x.shape[0])
    for column in checked:
        f = _jvp_of(f, _one_hot(x, column))
    try:
        with torch.enable_grad():
            return f(x)
    except RuntimeError as error:
        raise ConfigurationError(
            f"Forward-mode differentiation through torch.func.jvp failed: {error}. The function "
            "must be written with out-of-place torch operations that support forward AD; use "
            "mode='reverse' otherwise."
        ) from error


def _jvp_of(f: Function, tangent: torch.Tensor) -> Function:
    def derivative(z: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(f, (z,), (tangent,))[1]

    return derivative


def forward_laplacian(
    fn: Function, x: torch.Tensor, columns: Sequence[int] | None = None
) -> torch.Tensor:
    """The Laplacian of a one-output function by forward mode (one nested product per column).

    Args:
        fn: Maps (N, d) to (N, 1) or (N,).
        x: The (N, d) input.
        columns: Column indices to sum over; None for all.

    Returns:
        (N, 1), trainable.
    """
    _check_x(x)
    checked = check_columns(columns, x.shape[1])
    terms = [directional_derivative(fn, x, (j, j)) for j in checked]
    _check_one_output(terms[0], "forward_laplacian")
    return torch.stack(terms, dim=0).sum(dim=0)


def forward_hessian(fn: Function, x: torch.Tensor) -> torch.Tensor:
    """The Hessian of a one-output function by forward mode (one nested product per pair).

    Args:
        fn: Maps (N, d) to (N, 1) or (N,).
        x: The (N, d) input.

    Returns:
        (N, d, d), symmetric, trainable.
    """
    _check_x(x)
    d = x.shape[1]
    entries: dict[tuple[int, int], torch.Tensor] = {}
    for a in range(d):
        for b in range(a, d):
            entries[(a, b)] = directional_derivative(fn, x, (a, b))
    _check_one_output(entries[(0, 0)], "forward_hessian")
    rows = [torch.cat([entries[(min(a, b), max(a, b))] for b in range(d)], dim=1) for a in range(d)]
    return torch.stack(rows, dim=1)


def _check_one_output(t: torch.Tensor, op: str) -> None:
    if t.shape[1] != 1:
        raise ShapeError(
            f"{op} needs a function with one output column; it returned {t.shape[1]}. Wrap it "
            "to select one output, e.g. lambda z: net(z)[:, i:i+1]."
        )
