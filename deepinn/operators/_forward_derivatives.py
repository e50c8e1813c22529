"""``ForwardDerivatives``: second and higher derivatives by nested forward-mode products."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn.operators._cache import DerivativeCache
from deepinn.operators._derivatives import AbstractDerivatives
from deepinn.operators._forward import directional_derivative

__all__ = ["ForwardDerivatives"]


class ForwardDerivatives(AbstractDerivatives):
    """``torch.func.jvp`` with one-hot tangents for derivatives of order two and more.

    A derivative by columns (a, b, ...) is one nested Jacobian-vector product per column and
    gives that derivative of every output at once; it is computed once per set of columns and
    kept. First derivatives stay reverse mode (one backward pass gives all coordinates). The
    results stay on the autograd tape, so a loss built from them trains like reverse mode. The
    network must be written in out-of-place torch operations that support forward AD.
    """

    mode = "forward"

    def __init__(
        self,
        fn: Callable[[torch.Tensor], Any],
        x: torch.Tensor,
        output_names: tuple[str, ...],
        cache: DerivativeCache,
    ) -> None:
        super().__init__(fn, x, output_names, cache)
        self._products: dict[tuple[int, ...], torch.Tensor] = {}

    def pure_second(self, o: int, j: int) -> torch.Tensor:
        """(N, 1) d2 out_o / dx_j^2 by two nested products."""
        self.outer.values("pure_second")
        return self._product((j, j))[:, o : o + 1]

    def mixed(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1) derivative by ``columns`` (their order does not matter)."""
        return self._product(tuple(sorted(columns)))[:, o : o + 1]

    def hessian(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, m, m) from the pure and mixed second derivatives."""
        outer = self.outer
        outer.values("other")
        rows = [torch.cat([outer.partial(o, [a, b]) for b in columns], dim=1) for a in columns]
        return torch.stack(rows, dim=1)

    def _product(self, columns: tuple[int, ...]) -> torch.Tensor:
        """(N, k) derivative of every output by ``columns`` (cached)."""
        stored = self._products.get(columns)
        if stored is None:
            stored = directional_derivative(self.call_fn, self.x, columns)
            self._products[columns] = stored
        return stored
