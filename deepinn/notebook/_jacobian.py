"""The original DeepINN ``dp.constraint.Jacobian(X, y)(i, j)``: one entry dy_i / dX_j at a time.

The core operators are :func:`deepinn.operators.jacobian` and ``Field``; this class is the
notebook's calling convention over the same :class:`~deepinn.operators.DerivativeCache`.

Difference from the original DeepINN notebook: there, ``Jacobian(X, y)(i, j)`` ignored ``i`` and
returned column ``j`` of the gradient of the *sum of all outputs*. deepinn returns the true
derivative dy_i / dX_j. For an element-wise ``y = sin(X)`` of a two-column ``X``,
``jacobian(0, 1)`` is therefore 0, and the column the notebook printed for ``jacobian(0, 1)`` is
``jacobian(1, 1)`` here. For a single output column (``y`` of shape (N, 1)) nothing changes.
"""

from __future__ import annotations

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.operators import DerivativeCache
from deepinn.operators._cache import check_input, layout_of, to_2d

__all__ = ["Jacobian"]


class Jacobian:
    """Entries dy_i / dX_j of the Jacobian of ``y`` with respect to ``X``, computed on demand.

    Args:
        X: The input: (N, d) points, one point (d,), or a scalar-valued (1,) tensor; it must
            require grad.
        y: Outputs computed from ``X``: (N, k) or (N,) for a 2-D ``X``; (k,) for one point.
        cache: A :class:`DerivativeCache` to share backward passes with other operators.

    Calling ``jacobian(i, j)`` (or ``jacobian(i=..., j=...)``) returns

    * for a 2-D ``X``: the column dy_i / dX_j of shape (N, 1);
    * for a 1-D ``X``: the full gradient of ``y_i`` with the shape of ``X`` (``j`` is checked
      but otherwise ignored, as in the notebook): ``Jacobian(X, y)(0, 0)`` of a network
      ``R^2 -> R`` at one point is its gradient (2,).

    Results keep their graph, so ``Jacobian(x, Jacobian(x, y)(0, 0))(0, 0)`` is a second
    derivative. All entries of one output share one backward pass.

    Raises:
        ShapeError: ``i`` or ``j`` is out of range, or the shapes do not fit.
        ConfigurationError: ``X`` does not require grad.
    """

    def __init__(
        self,
        X: torch.Tensor,  # noqa: N803 - the notebook's name
        y: torch.Tensor,
        *,
        cache: DerivativeCache | None = None,
    ) -> None:
        self._layout = layout_of(y, X, what="y")
        check_input(X)
        self.X = X
        self.y = y
        self.cache = cache if cache is not None else DerivativeCache()
        self.n_outputs = to_2d(y, self._layout).shape[1]
        self.n_inputs = to_2d(X, self._layout).shape[1]

    def __call__(self, i: int = 0, j: int = 0) -> torch.Tensor:
        """dy_i / dX_j: an (N, 1) column for a 2-D X, the gradient of y_i for a 1-D X."""
        i = _index(i, self.n_outputs, "i", "output", "y")
        j = _index(j, self.n_inputs, "j", "input", "X")
        gradient = self.cache.column_grad(self.y, i, self.X, self._layout)
        if self.X.dim() == 2:
            return gradient[:, j : j + 1]
        return gradient

    def __repr__(self) -> str:
        return (
            f"Jacobian(X of shape {tuple(self.X.shape)}, y of shape {tuple(self.y.shape)}: "
            f"{self.n_outputs} output(s) x {self.n_inputs} input(s))"
        )


def _index(value: object, size: int, label: str, kind: str, tensor: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(
            f"Jacobian {label}={value!r} must be an int {kind} index, 0..{size - 1}."
        )
    if not 0 <= value < size:
        raise ShapeError(
            f"Jacobian {label}={value} is out of range: {tensor} has {size} {kind} column(s), so "
            f"{label} must be in 0..{size - 1}."
        )
    return value
