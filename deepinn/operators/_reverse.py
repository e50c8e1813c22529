"""``ReverseDerivatives``: every derivative by nested ``torch.autograd.grad``."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deepinn.operators._derivatives import AbstractDerivatives

__all__ = ["ReverseDerivatives"]


class ReverseDerivatives(AbstractDerivatives):
    """Nested reverse mode through the Field's :class:`~deepinn.operators.DerivativeCache`.

    The gradient of an output column is one backward pass and gives every first derivative of
    that output; a second derivative is one more backward pass through a column of that
    gradient, shared by the Laplacian, the Hessian and the mixed partials that start from it.
    Works for any network written in differentiable torch operations.
    """

    mode = "reverse"

    def pure_second(self, o: int, j: int) -> torch.Tensor:
        """(N, 1) d2 out_o / dx_j^2: a backward pass through column ``j`` of the gradient."""
        self.outer.values("pure_second")
        return self.grad_of(self.outer.first(o), j)[:, j : j + 1]

    def mixed(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1) derivative by ``columns`` in order: one backward pass per further column."""
        t, previous = self.outer.first(o), columns[0]
        for column in columns[1:]:
            t, previous = self.grad_of(t, previous), column
        return t[:, previous : previous + 1]

    def hessian(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, m, m): one backward pass per column of the gradient."""
        self.outer.values("other")
        first = self.outer.first(o)
        rows = [self.grad_of(first, a)[:, list(columns)] for a in columns]
        return torch.stack(rows, dim=1)
