"""``AbstractDerivatives``: how a Field's values and derivatives are computed.

A :class:`~deepinn.operators.Field` resolves names to columns and hands the work to one
derivative strategy, shared by the Field and all its row views. Every strategy computes the same
numbers; they differ in how:

- :class:`~deepinn.operators.ReverseDerivatives`: nested ``torch.autograd.grad`` through the
  Field's :class:`~deepinn.operators.DerivativeCache`.
- :class:`~deepinn.operators.ForwardDerivatives`: second and higher derivatives by nested
  ``torch.func.jvp``; first derivatives by one backward pass (all coordinates at once).
- :class:`~deepinn.operators.LaneDerivatives`: the network's own forward lanes
  (``forward_derivatives`` / ``forward_laplacian``), with another strategy for what the lanes do
  not carry.

Strategies work on column numbers: output ``o`` is a column of the (N, k) values, coordinate
``j`` a column of the (N, d) points. Results cover all rows; the Field takes its rows.
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.operators._cache import DerivativeCache

__all__ = ["AbstractDerivatives", "Request", "column"]

Request = Literal["value", "first", "pure_second", "other"]
"""What a Field was asked for, as far as the first request decides how values are computed: a
value, a first derivative, a pure second derivative (or a Laplacian), or anything else."""


def column(t: torch.Tensor, j: int) -> torch.Tensor:
    """Column ``j`` of an (N, m) tensor as (N, 1): ``t`` itself when it has one column (a slice
    would add an operator, and a zero-filled copy in the backward, for nothing)."""
    return t if t.shape[1] == 1 else t[:, j : j + 1]


class AbstractDerivatives(ABC):
    """Values and derivatives of a function's outputs at a batch of points, by column number.

    Args:
        fn: Maps the (N, d) points to (N, k) outputs (or a mapping of output name to columns).
        x: The (N, d) points, requiring grad.
        output_names: One name per output column, in order.
        cache: The derivative cache every backward pass goes through.

    Attributes:
        outer: The strategy that answers this one's own follow-up requests: itself, or a
            :class:`~deepinn.operators.LaneDerivatives` that wraps it (so a second derivative
            this strategy takes starts from the lanes' first derivatives).
    """

    mode: str
    """The Field mode this strategy serves (``'reverse'``, ``'forward'`` or ``'lanes'``)."""

    def __init__(
        self,
        fn: Callable[[torch.Tensor], Any],
        x: torch.Tensor,
        output_names: tuple[str, ...],
        cache: DerivativeCache,
    ) -> None:
        self.fn = fn
        self.x = x
        self.output_names = output_names
        self.cache = cache
        self._outer: weakref.ReferenceType[AbstractDerivatives] | None = None
        self._values: torch.Tensor | None = None

    @property
    def outer(self) -> AbstractDerivatives:
        """The strategy answering this one's follow-up requests (see the class docstring)."""
        outer = self._outer() if self._outer is not None else None
        return self if outer is None else outer

    @outer.setter
    def outer(self, strategy: AbstractDerivatives) -> None:
        # A weak reference: a strong one would make a reference cycle, and the step's graph
        # would then live until the garbage collector ran, not until the step ended.
        self._outer = None if strategy is self else weakref.ref(strategy)

    @property
    def computed(self) -> bool:
        """Whether the values have been computed."""
        return self._values is not None

    @property
    def used_lanes(self) -> bool:
        """Whether the network's forward lanes computed the values and derivatives."""
        return False

    # ------------------------------------------------------------------------ requests

    def values(self, request: Request = "value") -> torch.Tensor:
        """The (N, k) outputs; the first call evaluates ``fn`` (``request`` says why)."""
        if self._values is None:
            with torch.enable_grad():
                self._values = self.call_fn(self.x)
        return self._values

    def first(self, o: int) -> torch.Tensor:
        """(N, d) first derivatives of output ``o``: one backward pass, shared."""
        return self.grad_of(self.outer.values("first"), o)

    def first_column(self, o: int, j: int) -> torch.Tensor:
        """(N, 1) d out_o / dx_j."""
        return column(self.outer.first(o), j)

    def partial(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1) derivative of output ``o`` by ``columns`` in order (none: the value)."""
        outer = self.outer
        if not columns:
            return column(outer.values("value"), o)
        if len(columns) == 1:
            return outer.first_column(o, columns[0])
        if len(columns) == 2 and columns[0] == columns[1]:
            return outer.pure_second(o, columns[0])
        outer.values("other")
        return self.mixed(o, columns)

    def laplacian(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1) sum of the pure second derivatives of output ``o`` over ``columns``."""
        outer = self.outer
        outer.values("pure_second")
        terms = [outer.pure_second(o, j) for j in columns]
        return torch.stack(terms, dim=0).sum(dim=0)

    @abstractmethod
    def pure_second(self, o: int, j: int) -> torch.Tensor:
        """(N, 1) d2 out_o / dx_j^2."""

    @abstractmethod
    def mixed(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1) derivative of output ``o`` by two or more ``columns`` (not a pure second)."""

    @abstractmethod
    def hessian(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, m, m) second derivatives of output ``o`` over the m ``columns``."""

    # ---------------------------------------------------------------------- computations

    def grad_of(self, t: torch.Tensor, column: int) -> torch.Tensor:
        """(N, d) derivatives of column ``column`` of a stored (N, m) tensor (cached)."""
        return self.cache.column_grad(t, column, self.x, "rows")

    def call_fn(self, z: torch.Tensor) -> torch.Tensor:
        """Evaluate ``fn`` at ``z`` and return its outputs as one (N, k) tensor.

        Raises:
            ConfigurationError: ``fn`` returned something other than a tensor, or a mapping that
                lacks an output name.
            ShapeError: The outputs do not have one column per output name.
        """
        names = self.output_names
        out = self.fn(z)
        k = len(names)
        if isinstance(out, Mapping):
            missing = [name for name in names if name not in out]
            if missing:
                raise ConfigurationError(
                    f"The network returned outputs {list(out)} but the Field expects "
                    f"{list(names)}; missing {missing}. Set output_names to match."
                )
            out = torch.cat([out[name].reshape(z.shape[0], -1) for name in names], 1)
        if not isinstance(out, torch.Tensor):
            raise ConfigurationError(
                f"The network returned {type(out).__name__}; it must return an (N, k) tensor."
            )
        if out.dim() == 1 and out.shape[0] == z.shape[0]:
            out = out.unsqueeze(1)
        if out.dim() != 2 or out.shape != (z.shape[0], k):
            raise ShapeError(
                f"The network returned shape {tuple(out.shape)} for {z.shape[0]} points, but "
                f"the Field has {k} output name(s) {list(names)}: it must return "
                f"({z.shape[0]}, {k}). Fix output_names or the network's output size."
            )
        return out

    def __repr__(self) -> str:
        computed = "computed" if self.computed else "not computed"
        return f"{type(self).__name__}({list(self.output_names)}, {computed})"
