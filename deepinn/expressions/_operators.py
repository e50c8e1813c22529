"""Derivative operators of the expression language: ``laplacian``, ``grad``, ``partial``, ``div``.

An operator is looked up by name in a mapping the caller passes to :func:`parse`, so the names
are those of the operator registry and a plugin extends the language by adding an entry. An
entry is an :data:`ExpressionOperator`: given the names in the call (``laplacian(u, x, y)`` gives
``('u', 'x', 'y')``) and the :class:`OperatorScope`, it checks them and returns an
:class:`OperatorCall`, which says which derivatives it takes (known before anything runs) and
how to evaluate it on a :class:`~deepinn.operators.Field`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.operators import Field

__all__ = [
    "MAX_ORDER",
    "OPERATORS",
    "Derivative",
    "ExpressionOperator",
    "OperatorCall",
    "OperatorScope",
    "partial_call",
    "short_form",
]

MAX_ORDER = 4
"""The highest derivative order an expression may take."""

Derivative = tuple[str, tuple[str, ...]]
"""A derivative an expression takes: ``('u', ('x', 'x'))`` is d2u/dx2 (coordinates sorted in
declaration order, since mixed partials of a smooth network commute)."""


@dataclass(frozen=True)
class OperatorScope:
    """The names an operator may refer to.

    Attributes:
        outputs: The network's outputs.
        coordinates: The coordinates, in column order.
        time: The time coordinate that ``laplacian(u)`` and ``div(u, v)`` leave out, or None.
    """

    outputs: tuple[str, ...]
    coordinates: tuple[str, ...]
    time: str | None = "t"

    @property
    def spatial(self) -> tuple[str, ...]:
        """The coordinates other than time."""
        return tuple(c for c in self.coordinates if c != self.time)

    def output(self, name: str, operator: str) -> str:
        """Check that ``name`` is an output; raise ConfigurationError naming the nearest."""
        if name not in self.outputs:
            raise ConfigurationError(
                f"{operator}(...) differentiates an output; "
                + unknown_name_message("output", name, self.outputs, listed="Declared")
            )
        return name

    def coordinate(self, name: str, operator: str) -> str:
        """Check that ``name`` is a coordinate; raise ConfigurationError naming the nearest."""
        if name not in self.coordinates:
            raise ConfigurationError(
                f"{operator}(...) differentiates with respect to a coordinate; "
                + unknown_name_message("coordinate", name, self.coordinates, listed="Declared")
            )
        return name

    def key(self, output: str, coordinates: Sequence[str]) -> Derivative:
        """The :data:`Derivative` of ``output`` by ``coordinates``, in canonical order."""
        return output, tuple(sorted(coordinates, key=self.coordinates.index))


@dataclass(frozen=True)
class OperatorCall:
    """One checked call of a derivative operator.

    Attributes:
        derivatives: Every derivative the call takes.
        evaluate: Computes the (N, 1) result from a Field.
        laplacian: The coordinates summed over when the call is a Laplacian (its second
            derivatives are then only needed as their sum), else None.
    """

    derivatives: frozenset[Derivative]
    evaluate: Callable[[Field], torch.Tensor]
    laplacian: tuple[str, ...] | None = None


ExpressionOperator = Callable[[tuple[str, ...], OperatorScope], OperatorCall]
"""``operator(names, scope) -> OperatorCall``; raises ConfigurationError for bad arguments."""


def _arity(name: str, args: tuple[str, ...], low: int, high: int, signature: str) -> None:
    if not low <= len(args) <= high:
        raise ConfigurationError(
            f"{name}(...) got {len(args)} argument(s); call it as {signature}."
        )


def _laplacian(args: tuple[str, ...], scope: OperatorScope) -> OperatorCall:
    _arity("laplacian", args, 1, 1 + len(scope.coordinates), "laplacian(u) or laplacian(u, x, y)")
    out = scope.output(args[0], "laplacian")
    coords = tuple(scope.coordinate(c, "laplacian") for c in args[1:]) or scope.spatial
    if not coords:
        raise ConfigurationError(
            "laplacian(u) sums over the space coordinates but there are none besides time; "
            "name them, e.g. laplacian(u, x)."
        )
    if len(set(coords)) != len(coords):
        raise ConfigurationError(f"laplacian(...) names a coordinate twice: {list(coords)}.")
    columns = list(coords)
    return OperatorCall(
        frozenset(scope.key(out, (c, c)) for c in coords),
        lambda field: field.laplacian(out, columns),
        laplacian=tuple(sorted(coords, key=scope.coordinates.index)),
    )


def _grad(args: tuple[str, ...], scope: OperatorScope) -> OperatorCall:
    _arity("grad", args, 2, 2, "grad(u, x), the derivative du/dx")
    out, coord = scope.output(args[0], "grad"), scope.coordinate(args[1], "grad")
    return OperatorCall(
        frozenset({scope.key(out, (coord,))}), lambda field: field.grad(out, [coord])
    )


def partial_call(output: str, coords: tuple[str, ...], scope: OperatorScope) -> OperatorCall:
    """``partial(output, *coords)``: a repeated partial derivative (names already checked)."""
    if len(coords) > MAX_ORDER:
        raise ConfigurationError(
            f"A derivative of order {len(coords)} was asked for; the limit is {MAX_ORDER}."
        )
    return OperatorCall(
        frozenset({scope.key(output, coords)}), lambda field: field.partial(output, *coords)
    )


def _partial(args: tuple[str, ...], scope: OperatorScope) -> OperatorCall:
    _arity("partial", args, 2, 1 + MAX_ORDER, "partial(u, x) or partial(u, x, x) for d2u/dx2")
    out = scope.output(args[0], "partial")
    coords = tuple(scope.coordinate(c, "partial") for c in args[1:])
    return partial_call(out, coords, scope)


def _divergence(args: tuple[str, ...], scope: OperatorScope) -> OperatorCall:
    signature = "div(u, v) or div(u, v, x, y)"
    _arity("div", args, 1, 2 * len(scope.outputs), signature)
    count = next((i for i, a in enumerate(args) if a not in scope.outputs), len(args))
    if count == 0:
        scope.output(args[0], "div")
    outputs = list(args[:count])
    if any(a in scope.outputs for a in args[count:]):
        raise ConfigurationError(
            f"div(...) takes the outputs first, then optionally as many coordinates: {signature}."
        )
    coords = tuple(scope.coordinate(c, "div") for c in args[len(outputs) :]) or scope.spatial
    if len(coords) != len(outputs):
        raise ConfigurationError(
            f"div(...) pairs each output with a coordinate but got {len(outputs)} output(s) "
            f"{outputs} and {len(coords)} coordinate(s) {list(coords)}; name the coordinates: "
            f"{signature}."
        )
    pairs = list(zip(outputs, coords, strict=True))

    def evaluate(field: Field) -> torch.Tensor:
        terms = [field.partial(o, c) for o, c in pairs]
        return torch.stack(terms, dim=0).sum(dim=0)

    return OperatorCall(frozenset(scope.key(o, (c,)) for o, c in pairs), evaluate)


OPERATORS: Mapping[str, ExpressionOperator] = MappingProxyType(
    {
        "laplacian": _laplacian,
        "grad": _grad,
        "partial": _partial,
        "div": _divergence,
        "divergence": _divergence,
    }
)
"""The built-in derivative operators by name (``div`` and ``divergence`` are one)."""


def short_form(name: str, scope: OperatorScope) -> OperatorCall | None:
    """``u_xx`` is ``partial(u, x, x)``: an output, ``_``, then coordinate names run together.

    Returns None when ``name`` is not of that form.

    Raises:
        ConfigurationError: The coordinates can be read in more than one way.
    """
    for output in sorted(scope.outputs, key=len, reverse=True):
        prefix = output + "_"
        if not name.startswith(prefix) or len(name) == len(prefix):
            continue
        readings = _split(name[len(prefix) :], scope.coordinates)
        if len(readings) > 1:
            shown = " or ".join(f"partial({output}, {', '.join(r)})" for r in readings)
            raise ConfigurationError(
                f"{name!r} can be read as {shown}; write one of those instead."
            )
        if readings:
            return partial_call(output, readings[0], scope)
        suffix = name[len(prefix) :]
        if suffix.isalpha():  # u_zz: a derivative, by coordinates that do not exist
            example = scope.coordinates[0] * 2 if scope.coordinates else "x"
            raise ConfigurationError(
                f"{name!r} reads as a derivative of {output!r}, but {suffix!r} is not made of "
                f"the coordinates {list(scope.coordinates)}; take derivatives by those (e.g. "
                f"{output}_{example}, or partial({output}, ...)), or declare the coordinate in "
                "problem.coordinates."
            )
    return None


def _split(suffix: str, coordinates: Sequence[str]) -> list[tuple[str, ...]]:
    """Every way of writing ``suffix`` as coordinate names run together (at most two)."""
    if not suffix:
        return [()]
    if len(suffix) > 8 * MAX_ORDER:
        return []
    readings: list[tuple[str, ...]] = []
    for c in coordinates:
        if c and suffix.startswith(c):
            readings.extend((c, *rest) for rest in _split(suffix[len(c) :], coordinates))
        if len(readings) > 1:
            break
    return readings[:2]
