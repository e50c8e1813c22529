"""``Field``: a network's outputs at a batch of points, with their derivatives, by name.

A PINN residual receives a Field and writes the PDE in the names of its space and outputs::

    def heat(field):
        return field.partial("u", "t") - 0.1 * field.laplacian("u", "x")

Nothing is computed until asked. The Field resolves output and coordinate names to columns and
hands the work to one derivative strategy (:class:`AbstractDerivatives`, chosen by ``mode``; see
:data:`DERIVATIVE_MODES`): values come from one forward pass over all the points, every
derivative of one output shares one backward pass through a :class:`DerivativeCache`, and
``field.rows(slice)`` hands each constraint its rows of the same computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.operators._cache import DerivativeCache
from deepinn.operators._derivatives import AbstractDerivatives, column
from deepinn.operators._names import (
    Names,
    check_output_names,
    input_tensor,
    output_column,
    resolve_columns,
    single_column,
)
from deepinn.operators._strategies import check_mode, make_derivatives
from deepinn.spaces import Points, Space

__all__ = ["Field"]

Index = Any  # a slice, a sequence of ints, or an integer / boolean index tensor


def _row_index(index: Index, device: torch.device) -> slice | torch.Tensor:
    """``index`` as a slice or an index tensor on ``device``.

    Raises:
        ConfigurationError: ``index`` is a bool or not an index at all.
    """
    if isinstance(index, bool):
        raise ConfigurationError(f"rows({index!r}): pass a slice or row indices.")
    if isinstance(index, int):
        index = [index]
    if isinstance(index, Sequence):
        index = torch.as_tensor(list(index), dtype=torch.long, device=device)
    if not isinstance(index, (slice, torch.Tensor)):
        raise ConfigurationError(
            f"rows({index!r}): pass a slice, a sequence of row numbers or an index tensor."
        )
    return index


class Field:
    """A network's named outputs at a batch of points, with lazily computed derivatives.

    Args:
        fn: Maps an (N, d) tensor to (N, k) outputs (a network); a mapping of output name to
            (N, 1) or (N,) tensors is accepted too.
        x: The (N, d) points (a tensor or :class:`~deepinn.spaces.Points`). If it does not
            require grad, the Field differentiates a fresh leaf sharing its storage.
        space: The space of the points, naming the coordinates (default: ``x.space`` for
            Points).
        output_names: One name per output column of ``fn``.
        mode: How derivatives are computed: ``'lanes'`` (the network's forward lanes where it
            offers them and ``second_order`` is given, else nested autograd), ``'reverse'``
            (nested autograd) or ``'forward'`` (the lanes, else ``torch.func`` forward mode for
            second and higher derivatives); see :data:`DERIVATIVE_MODES`.
        second_order: Coordinate or variable names whose second derivatives the residual will
            take (what the forward lanes carry); None when not known.
        laplacian_only: The residual takes those second derivatives only as their sum, the
            Laplacian (lets a network with ``forward_laplacian`` carry a single lane).
        cache: The derivative cache to use; default a fresh one.

    Coordinates are addressed by name: a one-dimensional variable ``'t'``, an indexed coordinate
    ``'x0'`` of a multi-dimensional variable ``x``, or the variable ``'x'`` itself for all of its
    columns where an operator takes several (``grad``, ``laplacian``, ``hessian``,
    ``divergence``, ``jacobian``, ``coords``).

    Raises:
        ConfigurationError: A bad mode, output name or coordinate name.
        ShapeError: ``x`` does not have one column per coordinate of ``space``.
    """

    _derivatives: AbstractDerivatives
    _space: Space
    _mode: str
    _index: tuple[Index, ...]

    def __init__(
        self,
        fn: Callable[[torch.Tensor], Any],
        x: torch.Tensor | Points,
        space: Space | None = None,
        output_names: str | Sequence[str] = ("u",),
        mode: str = "lanes",
        *,
        second_order: Sequence[str] | None = None,
        laplacian_only: bool = False,
        cache: DerivativeCache | None = None,
    ) -> None:
        if not callable(fn):
            raise ConfigurationError(
                f"Field needs a callable fn mapping (N, d) points to outputs; got {fn!r}."
            )
        if isinstance(x, Points):
            space = x.space if space is None else space
            x = x.as_tensor
        if not isinstance(space, Space):
            raise ConfigurationError(
                f"Field needs the space of its points (e.g. R1('t') * R2('x')); got {space!r}."
            )
        check_mode(mode)
        self._space, self._mode, self._index = space, mode, ()
        names, points = check_output_names(output_names), input_tensor(x, space)
        columns: list[int] | None = None
        if second_order is not None:
            hint = [second_order] if isinstance(second_order, str) else list(second_order)
            columns = self._columns(hint) if hint else []
        self._derivatives = make_derivatives(
            mode, fn, points, names, cache if cache is not None else DerivativeCache(), columns,
            laplacian_only,
        )

    # ----------------------------------------------------------------------------- views

    def rows(self, index: Index) -> Field:
        """A view of some rows sharing this Field's computation and cache.

        Args:
            index: A slice, a sequence of row numbers, or an integer or boolean index tensor.

        Returns:
            A Field whose values and derivatives are these rows of this Field's.
        """
        index = _row_index(index, self._derivatives.x.device)
        view = object.__new__(Field)
        view._derivatives, view._space, view._mode = self._derivatives, self._space, self._mode
        view._index = (*self._index, index)
        return view

    def _take(self, t: torch.Tensor) -> torch.Tensor:
        for index in self._index:
            t = t[index]
        return t

    def __len__(self) -> int:
        return self._take(self._derivatives.x).shape[0]

    # ------------------------------------------------------------------------- properties

    @property
    def space(self) -> Space:
        """The space of the points."""
        return self._space

    @property
    def output_names(self) -> tuple[str, ...]:
        """The names of the output columns."""
        return self._derivatives.output_names

    @property
    def mode(self) -> str:
        """The Field mode: ``'lanes'``, ``'reverse'`` or ``'forward'``."""
        return self._mode

    @property
    def derivatives(self) -> AbstractDerivatives:
        """The derivative strategy this Field and its row views share."""
        return self._derivatives

    @property
    def cache(self) -> DerivativeCache:
        """The derivative cache shared by this Field and its row views."""
        return self._derivatives.cache

    @property
    def used_forward_derivatives(self) -> bool:
        """Whether the network's forward lanes (``forward_derivatives`` or
        ``forward_laplacian``) served this Field."""
        return self._derivatives.used_lanes

    @property
    def x(self) -> torch.Tensor:
        """The (N, d) points derivatives are taken with respect to (these rows)."""
        return self._take(self._derivatives.x)

    @property
    def points(self) -> Points:
        """The points as :class:`~deepinn.spaces.Points` (these rows)."""
        return Points(self.x, self._space)

    @property
    def values(self) -> torch.Tensor:
        """All outputs, (N, k)."""
        return self._take(self._derivatives.values("value"))

    def __getitem__(self, name: str) -> torch.Tensor:
        """The output ``name`` as an (N, 1) column."""
        return self._take(column(self._derivatives.values("value"), self._output(name)))

    def coords(self, name: Names = None) -> torch.Tensor:
        """The columns of ``x`` for a variable or coordinate name (all of them for None).

        These are the tensor the derivatives are taken with respect to, so a residual can use
        them in expressions (source terms, coefficients).

        Returns:
            (N, m) for the m columns named.
        """
        return self._take(self._derivatives.x[:, self._columns(name)])

    # -------------------------------------------------------------------------- operators

    def grad(self, out: str, wrt: Names = None) -> torch.Tensor:
        """First derivatives of output ``out``: (N, d), or (N, m) for the m columns named."""
        o, columns = self._output(out), self._columns(wrt)
        return self._take(self._derivatives.first(o)[:, columns])

    def partial(self, out: str, *coords: str) -> torch.Tensor:
        """A repeated partial derivative: ``partial('u', 'x0', 'x1')`` is d2u / dx0 dx1, (N, 1).

        Each name must be one coordinate (``'t'``, ``'x0'``); with none, the value itself.
        """
        o = self._output(out)
        columns = [self._column(c) for c in coords]
        return self._take(self._derivatives.partial(o, columns))

    def laplacian(self, out: str, wrt: Names = None) -> torch.Tensor:
        """The sum of the pure second derivatives of ``out`` over ``wrt`` (default all), (N, 1).

        ``laplacian('u', 'x')`` on ``R1('t') * R2('x')`` sums over x0 and x1.
        """
        o, columns = self._output(out), self._columns(wrt)
        return self._take(self._derivatives.laplacian(o, columns))

    def hessian(self, out: str, wrt: Names = None) -> torch.Tensor:
        """The Hessian of ``out``: (N, d, d), or (N, m, m) over the m columns named."""
        o, columns = self._output(out), self._columns(wrt)
        return self._take(self._derivatives.hessian(o, columns))

    def divergence(self, outs: str | Sequence[str], wrt: Names = None) -> torch.Tensor:
        """The divergence sum_i d out_i / d wrt_i of a vector of outputs, (N, 1).

        Args:
            outs: The output names of the components, one per coordinate of ``wrt``.
            wrt: The coordinates (default all); e.g. ``'x'`` for every column of ``x``.
        """
        names = (outs,) if isinstance(outs, str) else tuple(outs)
        o_list = [self._output(name) for name in names]
        columns = self._columns(wrt)
        if len(o_list) != len(columns):
            coordinate_names = self._space.coordinate_names()
            raise ShapeError(
                f"divergence of {list(names)} over {[coordinate_names[c] for c in columns]}: "
                f"{len(o_list)} component(s) but {len(columns)} coordinate(s). Give one output "
                "per coordinate, e.g. divergence(('u', 'v'), 'x')."
            )
        first = self._derivatives.first
        terms = [first(o)[:, j : j + 1] for o, j in zip(o_list, columns, strict=True)]
        return self._take(torch.stack(terms, dim=0).sum(dim=0))

    def jacobian(self, outs: str | Sequence[str] | None = None, wrt: Names = None) -> torch.Tensor:
        """First derivatives of every output (or of ``outs``): (N, k, d), or over ``wrt``."""
        if outs is None:
            o_list = list(range(len(self.output_names)))
        else:
            names = (outs,) if isinstance(outs, str) else tuple(outs)
            o_list = [self._output(name) for name in names]
        columns = self._columns(wrt)
        first = self._derivatives.first
        return self._take(torch.stack([first(o)[:, columns] for o in o_list], dim=1))

    # -------------------------------------------------------------------------- names

    def _output(self, name: str) -> int:
        return output_column(self.output_names, name)

    def _column(self, name: str) -> int:
        return single_column(self._space, name)

    def _columns(self, names: Names) -> list[int]:
        return resolve_columns(self._space, names)

    def __repr__(self) -> str:
        computed = "computed" if self._derivatives.computed else "not computed"
        return (
            f"Field({list(self.output_names)} on {self.space!r}, {len(self)} points, "
            f"mode={self.mode!r}, {computed})"
        )
