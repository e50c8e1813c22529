"""``Expression``: a compiled formula, and the entry points that build one from text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.expressions._compile import Compiler, ParameterValue
from deepinn.expressions._nodes import Constant, Context, Node
from deepinn.expressions._operators import OPERATORS, Derivative, ExpressionOperator
from deepinn.expressions._parse import MAX_LENGTH, parse_tree
from deepinn.expressions._source import Source
from deepinn.operators import Field
from deepinn.spaces import Points

__all__ = ["Expression", "compile_function", "compile_residual", "parse"]


class Expression:
    """A compiled expression: call it on a Field (residuals) or on points (functions).

    Built by :func:`parse`, :func:`compile_residual` or :func:`compile_function`; never
    evaluates text. Calling it returns an (N, 1) tensor; a constant broadcasts to N rows in the
    points' dtype and device, and a tensor parameter is used as it is, so gradients reach it.

    Attributes:
        text: The expression as written (without surrounding whitespace).
        key: The configuration key it came from.
        coordinates: The coordinate names, in column order.
        derivatives: Every derivative taken, e.g. ``{('u', ('x', 'x')), ('u', ('t',))}``.
        names: The coordinates, outputs and parameters it uses.
        needs_field: Whether it uses network outputs (it must be called on a Field).
        order: The highest derivative order taken (0: none).
        second_order: The coordinates with a pure second derivative (``u_xx``, or through
            ``laplacian``), in column order; None when there are none.
        laplacian_only: Every second derivative is taken through ``laplacian`` calls over
            exactly ``second_order``, and none of higher order (the hint of
            :class:`~deepinn.constraints.AbstractConstraint`).
    """

    def __init__(self, source: Source, root: Node, compiler: Compiler) -> None:
        self.text = source.text
        self.key = source.key
        self._root = root
        scope = compiler.scope
        self.coordinates: tuple[str, ...] = scope.coordinates
        self.derivatives: frozenset[Derivative] = frozenset(
            d for call in compiler.calls for d in call.derivatives
        )
        self.names: frozenset[str] = frozenset(compiler.used)
        self.needs_field = bool(self.derivatives) or any(n in scope.outputs for n in self.names)
        self.order = max((len(c) for _, c in self.derivatives), default=0)
        pure = {c[0] for _, c in self.derivatives if len(c) == 2 and c[0] == c[1]}
        second = tuple(c for c in scope.coordinates if c in pure)
        self.second_order: tuple[str, ...] | None = second or None
        self.laplacian_only = self.order == 2 and all(
            call.laplacian == second
            for call in compiler.calls
            if any(len(c) == 2 for _, c in call.derivatives)
        )

    def __call__(self, context: Field | torch.Tensor | Points) -> torch.Tensor:
        """Evaluate on a Field (outputs and derivatives) or on (N, d) points.

        Returns:
            An (N, 1) tensor.

        Raises:
            ConfigurationError: Points given where the expression needs a Field, or a Field
                whose coordinates are not the expression's.
            ShapeError: Points without one column per coordinate.
        """
        if isinstance(context, Field):
            names = tuple(context.space.coordinate_names())
            if names != self.coordinates:
                raise ConfigurationError(
                    f"{self.key}: the expression {self.text!r} was written for coordinates "
                    f"{list(self.coordinates)} but the Field has {list(names)}; declare the "
                    "coordinates in the Field's column order."
                )
            ctx = Context(context.x, context)
        else:
            if self.needs_field:
                raise ConfigurationError(
                    f"{self.key}: the expression {self.text!r} uses network outputs, so it must "
                    "be evaluated on a Field, not on points."
                )
            x = context.as_tensor if isinstance(context, Points) else context
            if not isinstance(x, torch.Tensor) or x.dim() != 2:
                raise ShapeError(
                    f"{self.key}: evaluate the expression on an (N, {len(self.coordinates)}) "
                    f"tensor of points; got {getattr(x, 'shape', type(x).__name__)}."
                )
            if x.shape[1] != len(self.coordinates):
                raise ShapeError(
                    f"{self.key}: points of shape {tuple(x.shape)} do not have one column per "
                    f"coordinate {list(self.coordinates)}."
                )
            ctx = Context(x)
        value = ctx.number(self._root(ctx))
        if not isinstance(value, torch.Tensor):
            return torch.full((ctx.rows, 1), value, dtype=ctx.dtype, device=ctx.device)
        if value.shape == (ctx.rows, 1):
            return value
        if value.numel() == 1:
            return value.reshape(1, 1).expand(ctx.rows, 1)
        raise ShapeError(
            f"{self.key}: the expression {self.text!r} gave shape {tuple(value.shape)}; "
            f"expected ({ctx.rows}, 1)."
        )

    @property
    def is_constant(self) -> bool:
        """Whether the whole expression folded to one number."""
        return isinstance(self._root, Constant)

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, key={self.key!r})"


def parse(
    text: str,
    *,
    key: str,
    coordinates: Sequence[str],
    outputs: Sequence[str] = (),
    parameters: Mapping[str, ParameterValue] | None = None,
    operators: Mapping[str, ExpressionOperator] | None = None,
    time: str | None = "t",
) -> Expression:
    """Parse and compile an expression over coordinates, outputs and parameters.

    Args:
        text: The expression, e.g. ``"u_t - k*laplacian(u)"``.
        key: The configuration key holding it, named in every error.
        coordinates: Coordinate names in column order (``['x', 'y']``).
        outputs: Network output names (``['u']``); empty for a function of the coordinates.
        parameters: Numbers or one-element tensors by name (``{'k': 0.1}``).
        operators: Derivative operators by name; default :data:`OPERATORS` (``laplacian``,
            ``grad``, ``partial``, ``div``, ``divergence``).
        time: The coordinate ``laplacian(u)`` and ``div(u, v)`` leave out (when declared).

    Raises:
        ConfigurationError: Naming the key and position: syntax, a refused construct, an unknown
            name or function (with the nearest), a bad argument, or a limit exceeded.
    """
    return _build(text, key, coordinates, outputs, parameters, operators, time, field=True)


def compile_residual(
    text: str,
    *,
    key: str,
    coordinates: Sequence[str],
    outputs: Sequence[str],
    parameters: Mapping[str, ParameterValue] | None = None,
    operators: Mapping[str, ExpressionOperator] | None = None,
    time: str | None = "t",
    unknown_note: str = "",
) -> Expression:
    """A residual: an expression evaluated on a :class:`~deepinn.operators.Field`.

    Args:
        unknown_note: Appended to the message of an unknown function (the plugins installed
            but disabled, whose operators are not available).

    Other arguments as :func:`parse`; ``outputs`` is required.
    """
    return _build(text, key, coordinates, outputs, parameters, operators, time, field=True,
                  unknown_note=unknown_note)


def compile_function(
    text: str,
    *,
    key: str,
    coordinates: Sequence[str],
    parameters: Mapping[str, ParameterValue] | None = None,
    outputs: Sequence[str] = (),
) -> Expression:
    """A function of the points (a boundary value, source or exact solution): (N, d) -> (N, 1).

    Args:
        outputs: The network's output names, only so that using one is refused with a clear
            message; outputs and derivatives are not allowed here.

    Other arguments as :func:`parse`.
    """
    return _build(text, key, coordinates, outputs, parameters, None, None, field=False)


def _build(
    text: str,
    key: str,
    coordinates: Sequence[str],
    outputs: Sequence[str],
    parameters: Mapping[str, ParameterValue] | None,
    operators: Mapping[str, ExpressionOperator] | None,
    time: str | None,
    *,
    field: bool,
    unknown_note: str = "",
) -> Expression:
    source = Source(text.strip() if isinstance(text, str) else text, key)
    if isinstance(text, str) and len(text) > MAX_LENGTH:  # before stripping: padding counts
        raise source.error(
            f"The expression is {len(text)} characters long; the limit is {MAX_LENGTH}. "
            "Split it into smaller parts or simplify it."
        )
    if isinstance(coordinates, str) or isinstance(outputs, str):
        raise source.error("coordinates and outputs must be lists of names, e.g. ['x', 'y'].")
    compiler = Compiler(
        source,
        coordinates,
        outputs,
        dict(parameters or {}),
        OPERATORS if operators is None else operators,
        time,
        field,
        unknown_note,
    )
    root = compiler.compile(parse_tree(source))
    return Expression(source, root, compiler)
