"""Speed hints inferred from a Python residual: one recording pass over a probe Field.

A PDE residual written in Python says which derivatives it takes only by taking them. Before
training, :func:`infer_hints` evaluates it once on a few points through a :class:`_Recorder`,
which answers every request through a real (reverse-mode) Field and notes what was asked. From
that the constraint's ``order``, ``second_order`` and ``laplacian_only`` follow, so the forward
Laplacian serves ``-f.laplacian("u")`` with no hint from the user. Explicit hints win.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError, DeepinnError
from deepinn.constraints._abstract import AbstractConstraint
from deepinn.operators import Field
from deepinn.operators._names import resolve_columns

__all__ = ["PROBE_ROWS", "infer_hints"]

PROBE_ROWS = 4
"""Points of the recording pass."""

_FIRST, _PURE, _LAPLACIAN, _OTHER = "first", "pure", "laplacian", "other"
_RAW = frozenset({"x", "points", "values", "cache"})
"""Field attributes that hand out raw tensors: a residual using them keeps the default hints
(second order, nested autograd), since it may take derivatives the recorder cannot see."""


class _Recorder:
    """A Field stand-in: every request is answered by ``field`` and recorded in ``requests``."""

    def __init__(self, field: Field, requests: list[tuple[str, frozenset[int]]]) -> None:
        self._field = field
        self.requests = requests

    def __getattr__(self, name: str) -> Any:  # x, points, values, coords, space, ...
        if name in _RAW:  # raw tensors: the residual may differentiate them itself
            self.requests.append((_OTHER, frozenset()))
        return getattr(self._field, name)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._field[name]

    def __len__(self) -> int:
        return len(self._field)

    def _columns(self, names: Any) -> frozenset[int]:
        space = self._field.space
        return frozenset(range(space.dim) if names is None else resolve_columns(space, names))

    def rows(self, index: Any) -> _Recorder:
        return _Recorder(self._field.rows(index), self.requests)

    def grad(self, out: str, wrt: Any = None) -> torch.Tensor:
        self.requests.append((_FIRST, self._columns(wrt)))
        return self._field.grad(out, wrt)

    def jacobian(self, outs: Any = None, wrt: Any = None) -> torch.Tensor:
        self.requests.append((_FIRST, self._columns(wrt)))
        return self._field.jacobian(outs, wrt)

    def divergence(self, outs: Any, wrt: Any = None) -> torch.Tensor:
        self.requests.append((_FIRST, self._columns(wrt)))
        return self._field.divergence(outs, wrt)

    def partial(self, out: str, *coords: str) -> torch.Tensor:
        columns = frozenset().union(*(self._columns([c]) for c in coords))
        if len(coords) == 1:
            kind = _FIRST
        elif len(coords) == 2 and len(columns) == 1:
            kind = _PURE
        else:
            kind = _OTHER
        self.requests.append((kind, columns))
        return self._field.partial(out, *coords)

    def laplacian(self, out: str, wrt: Any = None) -> torch.Tensor:
        self.requests.append((_LAPLACIAN, self._columns(wrt)))
        return self._field.laplacian(out, wrt)

    def hessian(self, out: str, wrt: Any = None) -> torch.Tensor:
        self.requests.append((_OTHER, self._columns(wrt)))
        return self._field.hessian(out, wrt)


def _hints(
    requests: Sequence[tuple[str, frozenset[int]]], names: Sequence[str]
) -> tuple[int, tuple[str, ...] | None, bool]:
    """``(order, second_order, laplacian_only)`` from the recorded requests."""
    kinds = {kind for kind, _ in requests}
    if not kinds:
        return 0, None, False
    if kinds == {_FIRST}:
        return 1, None, False
    if _OTHER in kinds:  # a mixed partial, a Hessian or raw tensors: nested autograd serves it
        return 2, None, False
    second = [columns for kind, columns in requests if kind in (_PURE, _LAPLACIAN)]
    union = sorted(frozenset().union(*second))
    laplacian_only = kinds <= {_FIRST, _LAPLACIAN} and len(set(second)) == 1
    return 2, tuple(names[i] for i in union), laplacian_only


def infer_hints(
    constraint: AbstractConstraint, network: Callable[..., Any], output_names: Sequence[str]
) -> None:
    """Set ``constraint``'s derivative hints from one recording pass of its residual.

    Runs the residual on :data:`PROBE_ROWS` of its points (reverse mode, the network's dtype);
    the hints it sets are those of the derivatives asked. An error of the residual surfaces here,
    before training, named; so does a residual that does not depend on the network's weights.

    Raises:
        ConfigurationError: The residual raised (naming the constraint and the exception), or
            no gradient reaches the network's parameters from it.
    """
    batch = constraint.sample(torch.Generator().manual_seed(0))
    rows = {key: value[:PROBE_ROWS] for key, value in batch.items()}
    parameters = getattr(network, "parameters", None)  # a module, or a plain function
    parameter = next(parameters(), None) if callable(parameters) else None
    if parameter is not None:
        rows = {k: v.to(parameter.dtype) if v.is_floating_point() else v for k, v in rows.items()}
    requests: list[tuple[str, frozenset[int]]] = []
    try:
        with torch.enable_grad():  # the check below needs the graph, even under no_grad
            field = Field(
                network, constraint.inputs(rows), constraint.space, output_names=output_names,
                mode="reverse",
            )
            value = constraint.residual(_Recorder(field, requests), rows)  # type: ignore[arg-type]
    except DeepinnError:
        raise
    except Exception as error:
        raise ConfigurationError(
            f"Constraint {constraint.name!r}: its residual raised {type(error).__name__}: "
            f"{error}. It is called with the network's Field f at the points: f['u'] is an "
            "output, f.partial('u', 'x'), f.grad('u'), f.laplacian('u'), f.hessian('u') and "
            "f.divergence(...) its derivatives, f.coords('x') a coordinate (see "
            "deepinn.operators.Field)."
        ) from error
    trained = parameter is not None and any(
        p.requires_grad for p in parameters()  # type: ignore[misc]
    )
    if trained and isinstance(value, torch.Tensor) and not value.requires_grad:
        raise ConfigurationError(
            f"Constraint {constraint.name!r}: its residual does not depend on the network (no "
            "gradient reaches the weights), so training cannot lower it. Compute it from the "
            "field it is given, e.g. lambda f: -f.laplacian('u') - source."
        )
    order, second, laplacian_only = _hints(requests, constraint.space.coordinate_names())
    constraint.order = order
    constraint.second_order = second
    constraint.laplacian_only = laplacian_only
