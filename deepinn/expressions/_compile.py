"""Checked syntax tree to a compiled :class:`Expression`: names resolved, constants folded."""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Mapping, Sequence

import torch

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.expressions._functions import CONSTANTS, FUNCTIONS
from deepinn.expressions._nodes import (
    Binary,
    Call,
    Compare,
    Constant,
    Context,
    Coordinate,
    Derivative,
    Logical,
    Negative,
    Node,
    Not,
    Output,
    Parameter,
)
from deepinn.expressions._operators import (
    ExpressionOperator,
    OperatorCall,
    OperatorScope,
    short_form,
)
from deepinn.expressions._parse import MAX_EXPONENT
from deepinn.expressions._source import Source

__all__ = ["Compiler", "ParameterValue"]

ParameterValue = float | int | torch.Tensor
"""A parameter: a number (folded into constants) or a one-element tensor used as it is."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
_FOLD = Context(torch.zeros(1, 1, dtype=torch.float64))


class Compiler:
    """Turns a checked syntax tree into nodes, recording the derivatives it takes.

    Args:
        source: The text and its key, for errors.
        coordinates: Coordinate names in column order.
        outputs: Output names.
        parameters: Parameter values by name.
        operators: Derivative operators by name.
        time: The time coordinate (left out by ``laplacian(u)`` and ``div(u, v)``).
        field: Whether outputs and derivatives may be used (a residual), or the expression is a
            function of the coordinates only.
        unknown_note: Appended to an unknown function's message (the disabled plugins).
    """

    def __init__(
        self,
        source: Source,
        coordinates: Sequence[str],
        outputs: Sequence[str],
        parameters: Mapping[str, ParameterValue],
        operators: Mapping[str, ExpressionOperator],
        time: str | None,
        field: bool,
        unknown_note: str = "",
    ) -> None:
        self.source = source
        self.scope = OperatorScope(tuple(outputs), tuple(coordinates), time)
        self.operators = operators
        self.field = field
        self.unknown_note = unknown_note
        self.calls: list[OperatorCall] = []
        self.used: set[str] = set()
        self.parameters = self._check_names(parameters)

    # ---------------------------------------------------------------------- declarations

    def _check_names(self, parameters: Mapping[str, ParameterValue]) -> dict[str, Node]:
        declared: dict[str, str] = {}
        groups = (
            ("coordinate", self.scope.coordinates),
            ("output", self.scope.outputs),
            ("parameter", tuple(parameters)),
        )
        for kind, names in groups:
            for name in names:
                if not isinstance(name, str) or not _NAME.match(name) or keyword.iskeyword(name):
                    raise self.source.error(
                        f"The {kind} name {name!r} cannot be used in expressions; use a name of "
                        "letters, digits and _ that starts with a letter (e.g. 'x', 'nu')."
                    )
                taken = declared.get(name) or self._builtin(name)
                if taken:
                    raise self.source.error(
                        f"The {kind} name {name!r} is already a {taken} name; rename it."
                    )
                declared[name] = kind
        return {name: self._parameter(name, value) for name, value in parameters.items()}

    def _builtin(self, name: str) -> str | None:
        if name in CONSTANTS:
            return "constant"
        if name in FUNCTIONS:
            return "function"
        return "derivative operator" if name in self.operators else None

    def _parameter(self, name: str, value: object) -> Node:
        if isinstance(value, torch.Tensor):
            if value.numel() != 1 or not value.is_floating_point():
                raise self.source.error(
                    f"Parameter {name!r} is a tensor of shape {tuple(value.shape)} and dtype "
                    f"{value.dtype}; a parameter must be one floating-point number."
                )
            return Parameter(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.source.error(
                f"Parameter {name!r} = {value!r} is not a number; give a real number or a "
                "one-element tensor."
            )
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.source.error(f"Parameter {name!r} = {value!r} is not a finite number.")
        return Constant(number)

    # --------------------------------------------------------------------------- nodes

    def compile(self, node: ast.expr) -> Node:
        """Compile one (checked) syntax node."""
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            built = Not(operand) if isinstance(node.op, ast.Not) else Negative(operand)
            return self._fold(built, [operand], node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Compare):
            operands = [self.compile(n) for n in (node.left, *node.comparators)]
            symbols = [_SYMBOLS[type(op)] for op in node.ops]
            return self._fold(Compare(symbols, operands), operands, node)
        if isinstance(node, ast.BoolOp):
            operands = [self.compile(n) for n in node.values]
            logical = Logical(isinstance(node.op, ast.And), operands)
            return self._fold(logical, operands, node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.source.error(f"{type(node).__name__} is not allowed in an expression.", node)

    def _number(self, node: ast.Constant) -> Node:
        try:
            value = float(node.value)  # type: ignore[arg-type]  # int or float: checked
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise self.source.error(
                f"The number {_short(node.value)} is too large (the limit is about 1.8e308).",
                node,
            )
        return Constant(value)

    def _binary(self, node: ast.BinOp) -> Node:
        left, right = self.compile(node.left), self.compile(node.right)
        symbol = _SYMBOLS[type(node.op)]
        if symbol == "**":
            if not isinstance(right, Constant):
                raise self.source.error(
                    "The exponent of ** must be a constant number (e.g. u**2, x**0.5); for a "
                    "variable exponent write exp(b*log(a)).",
                    node.right,
                )
            if abs(right.value) > MAX_EXPONENT:
                raise self.source.error(
                    f"The exponent {right.value:g} is too large; |exponent| must be at most "
                    f"{MAX_EXPONENT}.",
                    node.right,
                )
        return self._fold(Binary(symbol, left, right), [left, right], node)

    def _fold(self, built: Node, children: Sequence[Node], node: ast.AST) -> Node:
        """Evaluate ``built`` now when its children are all constants."""
        if not all(isinstance(child, Constant) for child in children):
            return built
        try:
            value = built(_FOLD)
            number = float(value.item() if isinstance(value, torch.Tensor) else value)
        except (ArithmeticError, RuntimeError, TypeError, ValueError) as exc:
            raise self.source.error(
                f"This constant part cannot be computed: {exc}.", node
            ) from None
        if not math.isfinite(number):
            raise self.source.error(
                f"This constant part evaluates to {number}; make it a finite number.", node
            )
        return Constant(number)

    def _name(self, node: ast.Name) -> Node:
        name = node.id
        scope = self.scope
        if name in scope.coordinates:
            self.used.add(name)
            return Coordinate(scope.coordinates.index(name))
        if name in scope.outputs:
            self._need_field(node, f"{name!r} is a network output")
            self.used.add(name)
            return Output(name)
        if name in self.parameters:
            self.used.add(name)
            return self.parameters[name]
        if name in CONSTANTS:
            return Constant(CONSTANTS[name])
        if scope.outputs and scope.coordinates:
            try:
                call = short_form(name, scope)
            except ConfigurationError as exc:
                raise self.source.error(str(exc), node) from None
            if call is not None:
                self._need_field(node, f"{name!r} is a derivative of a network output")
                return self._derivative(call)
        if self._builtin(name):
            raise self.source.error(
                f"{name!r} is a function; call it with arguments, e.g. {name}(...).", node
            )
        names = [*scope.coordinates, *(scope.outputs if self.field else ()), *self.parameters]
        message = unknown_name_message("name", name, [*names, *CONSTANTS], listed="Known")
        raise self.source.error(message, node)

    def _need_field(self, node: ast.AST, what: str) -> None:
        if not self.field:
            raise self.source.error(
                f"{what}, but this expression is a function of the coordinates only "
                f"{list(self.scope.coordinates)} (a value, source or exact solution); use "
                "coordinates, parameters and constants here.",
                node,
            )

    def _derivative(self, call: OperatorCall) -> Node:
        self.calls.append(call)
        self.used.update(o for o, _ in call.derivatives)
        return Derivative(call)

    def _call(self, node: ast.Call) -> Node:
        name = node.func.id  # type: ignore[attr-defined]  # checked by the parser
        if name in self.operators:
            self._need_field(node, f"{name}(...) takes derivatives of the network outputs")
            names: list[str] = []
            for arg in node.args:
                if not isinstance(arg, ast.Name):
                    raise self.source.error(
                        f"{name}(...) takes names of outputs and coordinates, e.g. "
                        f"{name}(u, x); an expression cannot be differentiated here.",
                        arg,
                    )
                names.append(arg.id)
            try:
                call = self.operators[name](tuple(names), self.scope)
            except ConfigurationError as exc:
                raise self.source.error(str(exc), node) from None
            return self._derivative(call)
        function = FUNCTIONS.get(name)
        if function is None:
            if (
                name in self.scope.coordinates
                or name in self.scope.outputs
                or (name in self.parameters or name in CONSTANTS)
            ):
                raise self.source.error(f"{name!r} is not a function; it cannot be called.", node)
            available = [*FUNCTIONS, *(self.operators if self.field else ())]
            message = unknown_name_message("function", name, available, listed="Available")
            raise self.source.error(message + self.unknown_note, node.func)
        if not function.min_args <= len(node.args) <= function.max_args:
            raise self.source.error(
                f"{name}(...) got {len(node.args)} argument(s); call it as {function.signature}.",
                node,
            )
        args = [self.compile(arg) for arg in node.args]
        return self._fold(Call(function, args), args, node)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 30 else f"{text[:12]}...({len(text)} digits)"
