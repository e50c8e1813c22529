"""The compiled form of an expression: a tree of small node objects evaluated on tensors.

A node is called with an evaluation context and returns a tensor, or a Python float for a
constant (so ``2 * u`` multiplies by a number, not by a tensor made each step).
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Callable, Sequence
from typing import cast

import torch

from deepinn.expressions._functions import MathFunction
from deepinn.expressions._operators import OperatorCall
from deepinn.operators import Field

__all__ = [
    "Binary",
    "Call",
    "Compare",
    "Constant",
    "Context",
    "Coordinate",
    "Derivative",
    "Logical",
    "Negative",
    "Node",
    "Not",
    "Output",
    "Parameter",
]

Tensor = torch.Tensor
Value = Tensor | float


class Context:
    """What an expression is evaluated against: points, and a Field when it has outputs.

    Args:
        x: The (N, d) points, one column per coordinate in declaration order.
        field: The network's Field at those points, or None for a function of the points.
    """

    def __init__(self, x: Tensor, field: Field | None = None) -> None:
        self.x = x
        self.field = field
        self.rows = x.shape[0]
        self.dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        self.device = x.device

    def tensor(self, value: Value) -> Tensor:
        """``value`` as a tensor of the context's dtype and device (tensors are kept)."""
        if isinstance(value, Tensor):
            return value
        return torch.full((), value, dtype=self.dtype, device=self.device)

    def number(self, value: Value) -> Value:
        """``value`` with a boolean tensor (a comparison) turned into 0.0 / 1.0 numbers."""
        if isinstance(value, Tensor) and value.dtype == torch.bool:
            return value.to(self.dtype)
        return value


class Node(abc.ABC):
    """One node of a compiled expression."""

    @abc.abstractmethod
    def __call__(self, ctx: Context) -> Value:
        """Evaluate on ``ctx``."""


class Constant(Node):
    """A number (literals, ``pi``, numeric parameters and folded constant subexpressions)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, ctx: Context) -> Value:
        return self.value


class Coordinate(Node):
    """Column ``index`` of the points."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __call__(self, ctx: Context) -> Value:
        return ctx.x[:, self.index : self.index + 1]


class Parameter(Node):
    """A tensor parameter (a learnable coefficient), used as it is so gradients reach it."""

    def __init__(self, value: Tensor) -> None:
        self.value = value

    def __call__(self, ctx: Context) -> Value:
        return self.value


class Output(Node):
    """A network output, (N, 1), from the Field."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, ctx: Context) -> Value:
        return cast(Field, ctx.field)[self.name]  # the compiler builds it for residuals only


class Derivative(Node):
    """A derivative operator call (or a short form such as ``u_xx``), (N, 1), from the Field."""

    def __init__(self, call: OperatorCall) -> None:
        self.call = call

    def __call__(self, ctx: Context) -> Value:
        return self.call.evaluate(cast(Field, ctx.field))  # residuals only


class Negative(Node):
    """``-a``."""

    def __init__(self, operand: Node) -> None:
        self.operand = operand

    def __call__(self, ctx: Context) -> Value:
        return -ctx.number(self.operand(ctx))


class Not(Node):
    """``not a``: 1 where ``a`` is zero, else 0 (a boolean tensor)."""

    def __init__(self, operand: Node) -> None:
        self.operand = operand

    def __call__(self, ctx: Context) -> Value:
        return torch.logical_not(ctx.tensor(self.operand(ctx)))


BINARY: dict[str, Callable[[Value, Value], Value]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class Binary(Node):
    """``a op b`` for an arithmetic operator."""

    def __init__(self, symbol: str, left: Node, right: Node) -> None:
        self.symbol = symbol
        self.op = BINARY[symbol]
        self.left = left
        self.right = right

    def __call__(self, ctx: Context) -> Value:
        a, b = ctx.number(self.left(ctx)), ctx.number(self.right(ctx))
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            a = ctx.tensor(a)  # two numbers: torch arithmetic, never Python's
        return self.op(a, b)


class Compare(Node):
    """A comparison chain ``a < b <= c``: a boolean tensor."""

    def __init__(self, symbols: Sequence[str], operands: Sequence[Node]) -> None:
        self.ops = [BINARY[s] for s in symbols]
        self.operands = list(operands)

    def __call__(self, ctx: Context) -> Value:
        values = [ctx.tensor(node(ctx)) for node in self.operands]
        result = ctx.tensor(self.ops[0](values[0], values[1]))
        for op, a, b in zip(self.ops[1:], values[1:], values[2:], strict=False):
            result = torch.logical_and(result, ctx.tensor(op(a, b)))
        return result


class Logical(Node):
    """``a and b`` / ``a or b``, element-wise: a boolean tensor."""

    def __init__(self, conjunction: bool, operands: Sequence[Node]) -> None:
        self.op = torch.logical_and if conjunction else torch.logical_or
        self.operands = list(operands)

    def __call__(self, ctx: Context) -> Value:
        values = [ctx.tensor(node(ctx)) for node in self.operands]
        result = values[0]
        for value in values[1:]:
            result = self.op(result, value)
        return result


class Call(Node):
    """An element-wise math function."""

    def __init__(self, function: MathFunction, args: Sequence[Node]) -> None:
        self.function = function
        self.args = list(args)

    def __call__(self, ctx: Context) -> Value:
        return self.function.apply(*(ctx.tensor(ctx.number(node(ctx))) for node in self.args))
