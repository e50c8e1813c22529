"""The math functions of the expression language, applied element-wise to tensors."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch

__all__ = ["CONSTANTS", "FUNCTIONS", "MathFunction"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class MathFunction:
    """An element-wise function: its name, how many arguments it takes, and its torch code.

    Attributes:
        name: The name in the language (``sin``).
        min_args: The fewest positional arguments.
        max_args: The most positional arguments.
        apply: Maps tensor arguments to a tensor.
        signature: How it is called, for messages and the docs (``sin(a)``).
    """

    name: str
    min_args: int
    max_args: int
    apply: Callable[..., Tensor]
    signature: str


def _heaviside(a: Tensor, at_zero: Tensor | None = None) -> Tensor:
    half = torch.full_like(a, 0.5) if at_zero is None else at_zero.to(a.dtype).expand_as(a)
    return torch.heaviside(a, half)


def _where(condition: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return torch.where(condition.bool() if condition.dtype != torch.bool else condition, a, b)


def _clip(a: Tensor, low: Tensor, high: Tensor) -> Tensor:
    return torch.minimum(torch.maximum(a, low), high)


def _one(name: str, fn: Callable[[Tensor], Tensor]) -> MathFunction:
    return MathFunction(name, 1, 1, fn, f"{name}(a)")


_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "arcsin": torch.asin,
    "asin": torch.asin,
    "arccos": torch.acos,
    "acos": torch.acos,
    "arctan": torch.atan,
    "atan": torch.atan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "arcsinh": torch.asinh,
    "asinh": torch.asinh,
    "arccosh": torch.acosh,
    "acosh": torch.acosh,
    "arctanh": torch.atanh,
    "atanh": torch.atanh,
    "exp": torch.exp,
    "expm1": torch.expm1,
    "log": torch.log,
    "log1p": torch.log1p,
    "log2": torch.log2,
    "log10": torch.log10,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "sign": torch.sign,
    "erf": torch.erf,
    "sigmoid": torch.sigmoid,
    "floor": torch.floor,
    "ceil": torch.ceil,
}

_FUNCTIONS: dict[str, MathFunction] = {name: _one(name, fn) for name, fn in _UNARY.items()}
_FUNCTIONS.update(
    {
        "atan2": MathFunction("atan2", 2, 2, torch.atan2, "atan2(a, b)"),
        "arctan2": MathFunction("arctan2", 2, 2, torch.atan2, "arctan2(a, b)"),
        "minimum": MathFunction("minimum", 2, 2, torch.minimum, "minimum(a, b)"),
        "maximum": MathFunction("maximum", 2, 2, torch.maximum, "maximum(a, b)"),
        "min": MathFunction("min", 2, 2, torch.minimum, "min(a, b)"),
        "max": MathFunction("max", 2, 2, torch.maximum, "max(a, b)"),
        "heaviside": MathFunction("heaviside", 1, 2, _heaviside, "heaviside(a[, at_zero])"),
        "where": MathFunction("where", 3, 3, _where, "where(condition, a, b)"),
        "clip": MathFunction("clip", 3, 3, _clip, "clip(a, low, high)"),
    }
)

FUNCTIONS: Mapping[str, MathFunction] = MappingProxyType(_FUNCTIONS)
"""The built-in element-wise functions by name."""

CONSTANTS: Mapping[str, float] = MappingProxyType({"pi": math.pi, "e": math.e})
"""The named constants."""
