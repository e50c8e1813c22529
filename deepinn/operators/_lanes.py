"""``LaneDerivatives``: values and derivatives from the network's own forward lanes.

The lane protocol: a network may define ``forward_derivatives(x, second)``, where ``second`` is
a tuple of d bools marking the coordinates whose second derivatives are needed; it returns
``(u (N, k), du (N, k, d), d2u (N, k, d))`` with ``d2u[:, :, i]`` = d2u / dx_i^2 for marked ``i``
(zero elsewhere). It may also define ``forward_laplacian(x, second)``, returning ``(u (N, k),
du (N, k, d), lap (N, k))``: one second-derivative lane carrying the Laplacian over the marked
coordinates instead of one lane per coordinate (4 lanes instead of 5 in 2-D).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.operators._derivatives import AbstractDerivatives, Request, column

__all__ = ["LaneDerivatives", "offers_lanes"]


def offers_lanes(fn: Any, laplacian_only: bool) -> bool:
    """Whether ``fn`` offers the lane protocol a :class:`LaneDerivatives` would call.

    Args:
        fn: The network.
        laplacian_only: The residuals take their second derivatives only as a Laplacian (then
            ``forward_laplacian`` serves as well as ``forward_derivatives``).
    """
    names = ["forward_derivatives"] + (["forward_laplacian"] if laplacian_only else [])
    return any(callable(getattr(fn, name, None)) for name in names)


class LaneDerivatives(AbstractDerivatives):
    """The network's forward lanes, with another strategy for what they do not carry.

    The lanes are used when the residual declared the coordinates whose second derivatives it
    takes (``second_order``), the network offers the protocol, and the first request is a value,
    a first derivative, a pure second derivative or a Laplacian: one call then gives the values,
    every first derivative and the declared second derivatives. A Hessian or mixed partial asked
    first evaluates the network plainly and everything goes to ``fallback``; so do mixed
    partials and undeclared coordinates later.

    With ``laplacian_only`` (the residual takes those second derivatives only as their sum) a
    network with ``forward_laplacian`` is asked for that single lane. A pure second derivative
    asked of such a Field later is still answered, by the fallback through the lanes' gradient
    (a double backward, which a compiled network does not support): ``laplacian_only`` is a
    promise of the residual.

    Args:
        fallback: The strategy for everything the lanes do not give (reverse or forward mode),
            built on the same points, outputs and cache.
        second_order: The columns whose second derivatives the residual takes; None when not
            declared (then the lanes are never used).
        laplacian_only: The residual takes those second derivatives only as the Laplacian.
    """

    mode = "lanes"

    def __init__(
        self,
        fallback: AbstractDerivatives,
        second_order: Sequence[int] | None,
        laplacian_only: bool = False,
    ) -> None:
        super().__init__(fallback.fn, fallback.x, fallback.output_names, fallback.cache)
        self.fallback = fallback
        fallback.outer = self
        self.second_order = None if second_order is None else list(second_order)
        self.laplacian_only = bool(laplacian_only)
        self._first: dict[int, torch.Tensor] = {}
        self._du: torch.Tensor | None = None
        self._du_columns: tuple[torch.Tensor, ...] = ()
        self._d2u_columns: tuple[torch.Tensor, ...] = ()
        self._second: torch.Tensor | None = None
        self._laplacian: torch.Tensor | None = None
        self._columns: frozenset[int] = frozenset()
        self._used = False

    @property
    def used_lanes(self) -> bool:
        """Whether the network's lanes computed the values and derivatives."""
        return self._used

    def values(self, request: Request = "value") -> torch.Tensor:
        """The (N, k) outputs: from the lanes when ``request`` is the first and they serve it."""
        if self._values is None:
            with torch.enable_grad():
                if self._serves(request):
                    self._values = self._run_lanes()
                else:
                    self._values = self.fallback.values(request)
        return self._values

    def first(self, o: int) -> torch.Tensor:
        """(N, d) first derivatives of output ``o``: the lanes' gradient, or the fallback's."""
        self.values("first")
        if self._du is None:
            return self.fallback.first(o)
        stored = self._first.get(o)
        if stored is None:  # a squeeze is a view in the backward too; a select is a copy
            du = self._du
            stored = self._first[o] = du.squeeze(1) if du.shape[1] == 1 else du[:, o, :]
        return stored

    def first_column(self, o: int, j: int) -> torch.Tensor:
        """(N, 1) d out_o / dx_j: the lanes' gradient split by coordinate once (one operator,
        and one in the backward, for all the columns asked), or the fallback's."""
        self.values("first")
        if self._du is None:
            return self.fallback.first_column(o, j)
        if not self._du_columns:
            self._du_columns = self._du.unbind(2)
        return column(self._du_columns[j], o)

    def pure_second(self, o: int, j: int) -> torch.Tensor:
        """(N, 1) d2 out_o / dx_j^2: a lane for a declared coordinate, else the fallback's."""
        self.values("pure_second")
        if self._second is not None and j in self._columns:
            if not self._d2u_columns:
                self._d2u_columns = self._second.unbind(2)
            return column(self._d2u_columns[j], o)
        return self.fallback.pure_second(o, j)

    def laplacian(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1): the Laplacian lane when it sums exactly ``columns``, else the pure second
        derivatives summed."""
        self.values("pure_second")
        if self._laplacian is not None and sorted(columns) == sorted(self._columns):
            return self._laplacian[:, o : o + 1]
        return super().laplacian(o, columns)

    def mixed(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1): mixed partials are never carried by lanes; the fallback takes them."""
        return self.fallback.mixed(o, columns)

    def hessian(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, m, m) by the fallback (which takes the declared diagonal from the lanes)."""
        self.values("other")
        return self.fallback.hessian(o, columns)

    # ---------------------------------------------------------------------------- lanes

    def _method(self) -> str:
        """The network method to call: the Laplacian lane where it is enough."""
        if self.laplacian_only and callable(getattr(self.fn, "forward_laplacian", None)):
            return "forward_laplacian"
        return "forward_derivatives"

    def _serves(self, request: Request) -> bool:
        return (
            self.second_order is not None
            and callable(getattr(self.fn, self._method(), None))
            and request in ("value", "first", "pure_second")
        )

    def _run_lanes(self) -> torch.Tensor:
        """Call the lanes once; keep the derivatives and return the (N, k) values."""
        x, columns = self.x, self.second_order or []
        n, d, k = x.shape[0], x.shape[1], len(self.output_names)
        marked = set(columns)
        second = tuple(i in marked for i in range(d))  # a tuple: no device sync in the network
        method = self._method()
        returned = getattr(self.fn, method)(x, second)
        summed = method == "forward_laplacian"
        last = "lap" if summed else "d2u"
        name = type(self.fn).__name__
        if not isinstance(returned, tuple) or len(returned) != 3:
            raise ConfigurationError(
                f"{name}.{method} must return a tuple (u, du, {last}); got "
                f"{type(returned).__name__}."
            )
        u, du, d2u = returned
        expected = {"u": (n, k), "du": (n, k, d), last: (n, k) if summed else (n, k, d)}
        for label, tensor in zip(expected, (u, du, d2u), strict=True):
            if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != expected[label]:
                shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else tensor
                raise ShapeError(
                    f"{name}.{method} returned {label} of shape {shape}; expected "
                    f"{expected[label]} for {n} points, {k} outputs and {d} coordinates."
                )
        self._du = du
        if summed:
            self._laplacian = d2u
        else:
            self._second = d2u
        self._columns = frozenset(columns)
        self._used = True
        return u
