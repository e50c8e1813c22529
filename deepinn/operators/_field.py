"""``Field``: a network's outputs at a batch of points, with their derivatives, by name.

A PINN residual receives a Field and writes the PDE in the names of its space and outputs::

    def heat(field):
        return field.partial("u", "t") - 0.1 * field.laplacian("u", "x")

Nothing is computed until asked. Values come from one forward pass over all the points; every
derivative of one output shares one backward pass through a :class:`DerivativeCache`, and
``field.rows(slice)`` hands each constraint its rows of the same computation.

Modes:
    ``'reverse'``: every derivative by nested ``torch.autograd.grad`` through the cache.
    ``'forward'``: derivatives of second and higher order by nested forward-mode products
        (``torch.func.jvp`` with one-hot tangents); first derivatives stay reverse-mode (one
        backward gives all coordinates). Trainable like reverse mode.
    ``'auto'``: reverse, unless the network offers ``forward_derivatives`` or
        ``forward_laplacian`` (below) and the Field was told which second derivatives the
        residual needs (``second_order=``).

Forward-Laplacian protocol: a network may define ``forward_derivatives(x, second)`` where
``second`` is a tuple of d bools marking the coordinates whose second derivatives are needed; it
returns ``(u (N, k), du (N, k, d), d2u (N, k, d))`` with ``d2u[:, :, i]`` = d2u / dx_i^2 for marked
``i`` (zero elsewhere). In modes ``'auto'`` and ``'forward'``, a Field built with
``second_order=[...]`` whose first request is a value, a first derivative, a Laplacian or a pure
second derivative calls it once for all three. Mixed partials and undeclared coordinates fall
back to autograd (reverse mode, or nested ``jvp`` in ``'forward'`` mode).

Laplacian lane: when the residual needs the second derivatives only as the Laplacian over the
declared coordinates (``laplacian_only=True``, e.g. Poisson, Helmholtz, Navier-Stokes), a network
that also defines ``forward_laplacian(x, second)``, returning ``(u (N, k), du (N, k, d),
lap (N, k))``, is asked for that instead: it carries one second-derivative lane rather than one
per coordinate (4 lanes instead of 5 in 2-D). A pure second derivative asked of such a Field
later is still correct in eager mode (autograd through the returned gradient, a double backward
that a compiled network does not support), so ``laplacian_only`` is a promise of the residual.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.operators._cache import DerivativeCache
from deepinn.operators._forward import directional_derivative
from deepinn.operators._names import Names, check_output_names, input_tensor, resolve_columns
from deepinn.spaces import Points, Space

__all__ = ["FIELD_MODES", "Field", "offers_forward_derivatives", "time_modes"]

FIELD_MODES: tuple[str, ...] = ("auto", "reverse", "forward")

Index = Any  # a slice, a sequence of ints, or an integer / boolean index tensor



def offers_forward_derivatives(fn: Any, laplacian_only: bool) -> bool:
    """Whether ``fn`` offers the forward-Laplacian protocol a Field in mode ``auto`` would use."""
    names = ["forward_derivatives"] + (["forward_laplacian"] if laplacian_only else [])
    return any(callable(getattr(fn, name, None)) for name in names)

_log = logging.getLogger("deepinn.training")


def time_modes(
    evaluate: Callable[[str], torch.Tensor],
    parameters: Sequence[torch.Tensor],
    modes: Sequence[str] = ("auto", "reverse"),
    repeats: int = 5,
) -> tuple[str, dict[str, float]]:
    """The fastest of ``modes`` for one loss term, by a short timed probe.

    Each mode's ``evaluate(mode)`` (a scalar loss built through a Field in that mode) and its
    gradient with respect to ``parameters`` (``torch.autograd.grad``: no ``.grad`` is touched)
    run once to warm up and then ``repeats`` times, the modes interleaved so that a machine's
    drift hits them alike; the median decides. A mode that fails is left out.

    Returns:
        The chosen mode and each mode's median seconds (a failed mode is absent).
    """
    params = [p for p in parameters if p.requires_grad]

    def once(mode: str) -> float:
        start = time.perf_counter()
        loss = evaluate(mode)
        if params:
            torch.autograd.grad(loss, params, allow_unused=True)
        if loss.is_cuda:
            torch.cuda.synchronize(loss.device)
        return time.perf_counter() - start

    samples: dict[str, list[float]] = {}
    for mode in modes:
        try:
            once(mode)
        except Exception as error:  # a mode this residual cannot use is no candidate
            _log.warning(
                "field_mode=auto: the %s path is left out (%s: %s)", mode, type(error).__name__,
                str(error).splitlines()[0] if str(error) else "",
            )
            continue
        samples[mode] = []
    for _ in range(repeats):
        for mode in samples:
            samples[mode].append(once(mode))
    medians = {mode: statistics.median(times) for mode, times in samples.items() if times}
    if not medians:
        return modes[0], {}
    return min(medians, key=medians.__getitem__), medians


# What a first request is, for deciding whether the forward-Laplacian protocol may serve it.
_VALUE, _FIRST, _PURE_SECOND, _OTHER = "value", "first", "pure_second", "other"


class _State:
    """What a Field and all its row views share: inputs, outputs and stored derivatives."""

    def __init__(
        self,
        fn: Callable[[torch.Tensor], Any],
        x: torch.Tensor,
        space: Space,
        output_names: tuple[str, ...],
        mode: str,
        cache: DerivativeCache,
    ) -> None:
        self.fn = fn
        self.x = x
        self.space = space
        self.output_names = output_names
        self.mode = mode
        self.cache = cache
        self.second_order: list[int] | None = None
        self.values: torch.Tensor | None = None
        self.first: dict[int, torch.Tensor] = {}  # from the protocol; reverse ones live in cache
        self.laplacian_only = False
        self.protocol_second: torch.Tensor | None = None
        self.protocol_laplacian: torch.Tensor | None = None
        self.protocol_columns: frozenset[int] = frozenset()
        self.forward: dict[tuple[int, ...], torch.Tensor] = {}
        self.used_protocol = False


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
        mode: ``'auto'``, ``'reverse'`` or ``'forward'`` (see the module docstring).
        second_order: Coordinate or variable names whose second derivatives the residual will
            take (for the forward-Laplacian protocol); None when not known.
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

    _state: _State
    _index: tuple[Index, ...]

    def __init__(
        self,
        fn: Callable[[torch.Tensor], Any],
        x: torch.Tensor | Points,
        space: Space | None = None,
        output_names: str | Sequence[str] = ("u",),
        mode: str = "auto",
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
        if mode not in FIELD_MODES:
            raise ConfigurationError(
                f"Field mode {mode!r} is not one of {list(FIELD_MODES)}; use 'reverse' for "
                "nested autograd, 'forward' for forward-mode second derivatives, or 'auto'."
            )
        names = check_output_names(output_names)
        self._state = _State(
            fn, input_tensor(x, space), space, names, mode,
            cache if cache is not None else DerivativeCache(),
        )
        self._index = ()
        if second_order is not None:
            hint = [second_order] if isinstance(second_order, str) else list(second_order)
            self._state.second_order = self._columns(hint) if hint else []
        self._state.laplacian_only = bool(laplacian_only)

    # ----------------------------------------------------------------------------- views

    def rows(self, index: Index) -> Field:
        """A view of some rows sharing this Field's computation and cache.

        Args:
            index: A slice, a sequence of row numbers, or an integer or boolean index tensor.

        Returns:
            A Field whose values and derivatives are these rows of this Field's.
        """
        if isinstance(index, bool):
            raise ConfigurationError(f"rows({index!r}): pass a slice or row indices.")
        if isinstance(index, int):
            index = [index]
        if isinstance(index, Sequence):
            index = torch.as_tensor(list(index), dtype=torch.long, device=self._state.x.device)
        if not isinstance(index, (slice, torch.Tensor)):
            raise ConfigurationError(
                f"rows({index!r}): pass a slice, a sequence of row numbers or an index tensor."
            )
        view = object.__new__(Field)
        view._state = self._state
        view._index = (*self._index, index)
        return view

    def _take(self, t: torch.Tensor) -> torch.Tensor:
        for index in self._index:
            t = t[index]
        return t

    def __len__(self) -> int:
        return self._take(self._state.x).shape[0]

    # ------------------------------------------------------------------------- properties

    @property
    def space(self) -> Space:
        """The space of the points."""
        return self._state.space

    @property
    def output_names(self) -> tuple[str, ...]:
        """The names of the output columns."""
        return self._state.output_names

    @property
    def mode(self) -> str:
        """The differentiation mode: 'auto', 'reverse' or 'forward'."""
        return self._state.mode

    @property
    def cache(self) -> DerivativeCache:
        """The derivative cache shared by this Field and its row views."""
        return self._state.cache

    @property
    def used_forward_derivatives(self) -> bool:
        """Whether the network's ``forward_derivatives`` or ``forward_laplacian`` served this
        Field."""
        return self._state.used_protocol

    @property
    def x(self) -> torch.Tensor:
        """The (N, d) points derivatives are taken with respect to (these rows)."""
        return self._take(self._state.x)

    @property
    def points(self) -> Points:
        """The points as :class:`~deepinn.spaces.Points` (these rows)."""
        return Points(self.x, self._state.space)

    @property
    def values(self) -> torch.Tensor:
        """All outputs, (N, k)."""
        return self._take(self._values(_VALUE))

    def __getitem__(self, name: str) -> torch.Tensor:
        """The output ``name`` as an (N, 1) column."""
        out = self._output(name)
        return self._take(self._values(_VALUE)[:, out : out + 1])

    def coords(self, name: Names = None) -> torch.Tensor:
        """The columns of ``x`` for a variable or coordinate name (all of them for None).

        These are the tensor the derivatives are taken with respect to, so a residual can use
        them in expressions (source terms, coefficients).

        Returns:
            (N, m) for the m columns named.
        """
        columns = self._columns(name)
        return self._take(self._state.x[:, columns])

    # -------------------------------------------------------------------------- operators

    def grad(self, out: str, wrt: Names = None) -> torch.Tensor:
        """First derivatives of output ``out``: (N, d), or (N, m) for the m columns named."""
        o, columns = self._output(out), self._columns(wrt)
        return self._take(self._first(o)[:, columns])

    def partial(self, out: str, *coords: str) -> torch.Tensor:
        """A repeated partial derivative: ``partial('u', 'x0', 'x1')`` is d2u / dx0 dx1, (N, 1).

        Each name must be one coordinate (``'t'``, ``'x0'``); with none, the value itself.
        """
        o = self._output(out)
        columns = [self._column(c) for c in coords]
        return self._take(self._partial(o, columns))

    def laplacian(self, out: str, wrt: Names = None) -> torch.Tensor:
        """The sum of the pure second derivatives of ``out`` over ``wrt`` (default all), (N, 1).

        ``laplacian('u', 'x')`` on ``R1('t') * R2('x')`` sums over x0 and x1.
        """
        o, columns = self._output(out), self._columns(wrt)
        self._values(_PURE_SECOND)
        state = self._state
        lap = state.protocol_laplacian
        if lap is not None and sorted(columns) == sorted(state.protocol_columns):
            return self._take(lap[:, o : o + 1])
        terms = [self._pure_second(o, j) for j in columns]
        return self._take(torch.stack(terms, dim=0).sum(dim=0))

    def hessian(self, out: str, wrt: Names = None) -> torch.Tensor:
        """The Hessian of ``out``: (N, d, d), or (N, m, m) over the m columns named."""
        o, columns = self._output(out), self._columns(wrt)
        self._values(_OTHER)
        if self._forward_mode:
            rows = [
                torch.cat([self._partial(o, [a, b]) for b in columns], dim=1) for a in columns
            ]
        else:
            first = self._first(o)
            rows = [self._reverse(first, a)[:, columns] for a in columns]
        return self._take(torch.stack(rows, dim=1))

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
            coordinate_names = self._state.space.coordinate_names()
            raise ShapeError(
                f"divergence of {list(names)} over {[coordinate_names[c] for c in columns]}: "
                f"{len(o_list)} component(s) but {len(columns)} coordinate(s). Give one output "
                "per coordinate, e.g. divergence(('u', 'v'), 'x')."
            )
        terms = [self._first(o)[:, j : j + 1] for o, j in zip(o_list, columns, strict=True)]
        return self._take(torch.stack(terms, dim=0).sum(dim=0))

    def jacobian(self, outs: str | Sequence[str] | None = None, wrt: Names = None) -> torch.Tensor:
        """First derivatives of every output (or of ``outs``): (N, k, d), or over ``wrt``."""
        if outs is None:
            o_list = list(range(len(self._state.output_names)))
        else:
            names = (outs,) if isinstance(outs, str) else tuple(outs)
            o_list = [self._output(name) for name in names]
        columns = self._columns(wrt)
        return self._take(torch.stack([self._first(o)[:, columns] for o in o_list], dim=1))

    # --------------------------------------------------------------------- computations

    @property
    def _forward_mode(self) -> bool:
        return self._state.mode == "forward"

    def _call_fn(self, z: torch.Tensor) -> torch.Tensor:
        """Evaluate ``fn`` and return its outputs as one (N, k) tensor."""
        state = self._state
        out = state.fn(z)
        k = len(state.output_names)
        if isinstance(out, Mapping):
            missing = [name for name in state.output_names if name not in out]
            if missing:
                raise ConfigurationError(
                    f"The network returned outputs {list(out)} but the Field expects "
                    f"{list(state.output_names)}; missing {missing}. Set output_names to match."
                )
            out = torch.cat([out[name].reshape(z.shape[0], -1) for name in state.output_names], 1)
        if not isinstance(out, torch.Tensor):
            raise ConfigurationError(
                f"The network returned {type(out).__name__}; it must return an (N, k) tensor."
            )
        if out.dim() == 1 and out.shape[0] == z.shape[0]:
            out = out.unsqueeze(1)
        if out.dim() != 2 or out.shape != (z.shape[0], k):
            raise ShapeError(
                f"The network returned shape {tuple(out.shape)} for {z.shape[0]} points, but "
                f"the Field has {k} output name(s) {list(state.output_names)}: it must return "
                f"({z.shape[0]}, {k}). Fix output_names or the network's output size."
            )
        return out

    def _protocol_method(self) -> str:
        """The network method the protocol calls: the Laplacian lane where it is enough."""
        state = self._state
        if state.laplacian_only and callable(getattr(state.fn, "forward_laplacian", None)):
            return "forward_laplacian"
        return "forward_derivatives"

    def _protocol_allowed(self, request: str) -> bool:
        state = self._state
        method = getattr(state.fn, self._protocol_method(), None)
        return (
            state.mode in ("auto", "forward")
            and state.second_order is not None
            and callable(method)
            and request in (_VALUE, _FIRST, _PURE_SECOND)
        )

    def _values(self, request: str) -> torch.Tensor:
        """The (N, k) outputs of all rows; the first call decides how they are computed."""
        state = self._state
        if state.values is None:
            with torch.enable_grad():
                if self._protocol_allowed(request):
                    self._run_protocol()
                else:
                    state.values = self._call_fn(state.x)
        return cast(torch.Tensor, state.values)

    def _run_protocol(self) -> None:
        state = self._state
        x, columns = state.x, state.second_order or []
        n, d, k = x.shape[0], x.shape[1], len(state.output_names)
        marked = set(columns)
        second = tuple(i in marked for i in range(d))  # a tuple: no device sync in the network
        method = self._protocol_method()
        returned = getattr(state.fn, method)(x, second)
        summed = method == "forward_laplacian"
        last = "lap" if summed else "d2u"
        if not isinstance(returned, tuple) or len(returned) != 3:
            raise ConfigurationError(
                f"{type(state.fn).__name__}.{method} must return a tuple (u, du, {last}); got "
                f"{type(returned).__name__}."
            )
        u, du, d2u = returned
        expected = {"u": (n, k), "du": (n, k, d), last: (n, k) if summed else (n, k, d)}
        for label, tensor in zip(expected, (u, du, d2u), strict=True):
            if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != expected[label]:
                shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else tensor
                raise ShapeError(
                    f"{type(state.fn).__name__}.{method} returned {label} of shape {shape}; "
                    f"expected {expected[label]} for {n} points, {k} outputs and {d} "
                    "coordinates."
                )
        state.values = u
        state.first = {o: du[:, o, :] for o in range(k)}
        if summed:
            state.protocol_laplacian = d2u
        else:
            state.protocol_second = d2u
        state.protocol_columns = frozenset(columns)
        state.used_protocol = True

    def _first(self, o: int) -> torch.Tensor:
        """(N, d) first derivatives of output ``o`` (one backward, shared)."""
        values = self._values(_FIRST)
        stored = self._state.first.get(o)
        if stored is not None:
            return stored
        return self._state.cache.column_grad(values, o, self._state.x, "rows")

    def _reverse(self, t: torch.Tensor, column: int) -> torch.Tensor:
        """(N, d) derivatives of column ``column`` of a stored (N, m) tensor (cached)."""
        return self._state.cache.column_grad(t, column, self._state.x, "rows")

    def _pure_second(self, o: int, j: int) -> torch.Tensor:
        """(N, 1) d2 out_o / dx_j^2."""
        state = self._state
        self._values(_PURE_SECOND)
        if state.protocol_second is not None and j in state.protocol_columns:
            return state.protocol_second[:, o, j : j + 1]
        if self._forward_mode:
            return self._forward_derivative((j, j))[:, o : o + 1]
        return self._reverse(self._first(o), j)[:, j : j + 1]

    def _partial(self, o: int, columns: Sequence[int]) -> torch.Tensor:
        """(N, 1) derivative of output ``o`` by ``columns`` in order."""
        if not columns:
            return self._values(_VALUE)[:, o : o + 1]
        if len(columns) == 1:
            return self._first(o)[:, columns[0] : columns[0] + 1]
        if len(columns) == 2 and columns[0] == columns[1]:
            return self._pure_second(o, columns[0])
        self._values(_OTHER)
        if self._forward_mode:
            return self._forward_derivative(tuple(sorted(columns)))[:, o : o + 1]
        t, previous = self._first(o), columns[0]
        for column in columns[1:]:
            t, previous = self._reverse(t, previous), column
        return t[:, previous : previous + 1]

    def _forward_derivative(self, columns: tuple[int, ...]) -> torch.Tensor:
        """(N, k) derivative of every output by nested forward-mode products (cached)."""
        stored = self._state.forward.get(columns)
        if stored is None:
            stored = directional_derivative(self._call_fn, self._state.x, columns)
            self._state.forward[columns] = stored
        return stored

    # -------------------------------------------------------------------------- names

    def _output(self, name: str) -> int:
        names = self._state.output_names
        if isinstance(name, str) and name in names:
            return names.index(name)
        raise ConfigurationError(
            f"Output {name!r} is not one of this Field's outputs {list(names)}; pass one of "
            "them (set output_names when building the Field)."
        )

    def _column(self, name: str) -> int:
        columns = self._columns(name)
        if len(columns) != 1:
            coordinate_names = self._state.space.coordinate_names()
            raise ConfigurationError(
                f"{name!r} names {len(columns)} coordinates "
                f"{[coordinate_names[c] for c in columns]}; a partial derivative needs one "
                "coordinate, e.g. one of those."
            )
        return columns[0]

    def _columns(self, names: Names) -> list[int]:
        return resolve_columns(self._state.space, names)

    def __repr__(self) -> str:
        computed = "computed" if self._state.values is not None else "not computed"
        return (
            f"Field({list(self.output_names)} on {self.space!r}, {len(self)} points, "
            f"mode={self.mode!r}, {computed})"
        )
