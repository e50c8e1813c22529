"""Built-in plugin: derivative operators grad, partial, jacobian, hessian, laplacian, divergence.

Every factory returns a callable ``op(u, x)``. ``u`` is the outputs computed from ``x`` or, in
either mode, the function (network) itself, which is then evaluated at ``x``. In ``mode='forward'``
(``laplacian``, ``hessian``) ``u`` must be the function: forward mode re-evaluates it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from deepinn._errors import ConfigurationError
from deepinn.operators._autograd import divergence, grad, hessian, jacobian, laplacian, partial
from deepinn.operators._forward import forward_hessian, forward_laplacian
from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration

__all__ = [
    "ColumnsParams",
    "DivergenceParams",
    "GradParams",
    "HessianParams",
    "JacobianParams",
    "LaplacianParams",
    "PartialParams",
    "deepinn_operators",
]

OPERATOR_MODES: tuple[str, ...] = ("reverse", "forward")

Operator = Callable[..., torch.Tensor]


@dataclass
class GradParams:
    """``grad(u, x)``: no parameters."""


@dataclass
class JacobianParams:
    """``jacobian(u, x)``: no parameters."""


@dataclass
class PartialParams:
    """``partial(u, x)`` by the column indices ``columns`` in order (d2u/dx0dx1: [0, 1])."""

    columns: list[int] = field(default_factory=lambda: [0])


@dataclass
class ColumnsParams:
    """Column indices of x to act on; None for all."""

    columns: Optional[list[int]] = None


@dataclass
class DivergenceParams(ColumnsParams):
    """``divergence(v, x)``: component i is differentiated by ``columns[i]`` (None: all)."""


@dataclass
class LaplacianParams(ColumnsParams):
    """``laplacian(u, x)`` over ``columns`` by ``mode`` 'reverse' (autograd) or 'forward'."""

    mode: str = "reverse"


@dataclass
class HessianParams:
    """``hessian(u, x)`` by ``mode`` 'reverse' (autograd) or 'forward' (torch.func.jvp)."""

    mode: str = "reverse"


def _check_mode(name: str, mode: str) -> str:
    if mode not in OPERATOR_MODES:
        raise ConfigurationError(
            f"operators.{name}.mode={mode!r} is not one of {list(OPERATOR_MODES)}; use "
            "'reverse' for nested autograd or 'forward' for forward-mode torch.func.jvp."
        )
    return mode


def _values(u: Any, x: torch.Tensor) -> torch.Tensor:
    return u if isinstance(u, torch.Tensor) else u(x)


def _function(name: str, u: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(u, torch.Tensor) or not callable(u):
        raise ConfigurationError(
            f"operators.{name} in mode 'forward' needs the function (the network), not its "
            f"values (got {type(u).__name__}): forward mode re-evaluates it. Pass the network, "
            "or use mode='reverse' with the values."
        )
    return u


def _grad(params: GradParams) -> Operator:
    def operator(u: Any, x: torch.Tensor) -> torch.Tensor:
        return grad(_values(u, x), x)

    return operator


def _jacobian(params: JacobianParams) -> Operator:
    def operator(u: Any, x: torch.Tensor) -> torch.Tensor:
        return jacobian(_values(u, x), x)

    return operator


def _partial(params: PartialParams) -> Operator:
    columns = list(params.columns)

    def operator(u: Any, x: torch.Tensor) -> torch.Tensor:
        return partial(_values(u, x), x, *columns)

    return operator


def _divergence(params: DivergenceParams) -> Operator:
    columns = None if params.columns is None else list(params.columns)

    def operator(v: Any, x: torch.Tensor) -> torch.Tensor:
        return divergence(_values(v, x), x, columns)

    return operator


def _laplacian(params: LaplacianParams) -> Operator:
    mode = _check_mode("laplacian", params.mode)
    columns = None if params.columns is None else list(params.columns)

    def operator(u: Any, x: torch.Tensor) -> torch.Tensor:
        if mode == "forward":
            return forward_laplacian(_function("laplacian", u), x, columns)
        return laplacian(_values(u, x), x, columns)

    return operator


def _hessian(params: HessianParams) -> Operator:
    mode = _check_mode("hessian", params.mode)

    def operator(u: Any, x: torch.Tensor) -> torch.Tensor:
        if mode == "forward":
            return forward_hessian(_function("hessian", u), x)
        return hessian(_values(u, x), x)

    return operator


@hookimpl
def deepinn_operators() -> list[Registration]:
    """Register deepinn's derivative operators."""
    return [
        Registration("grad", _grad, GradParams, "gradient of one output, (N, d)"),
        Registration("partial", _partial, PartialParams, "repeated partial derivative, (N, 1)"),
        Registration("jacobian", _jacobian, JacobianParams, "Jacobian of all outputs, (N, k, d)"),
        Registration("hessian", _hessian, HessianParams, "Hessian of one output, (N, d, d)"),
        Registration("laplacian", _laplacian, LaplacianParams, "Laplacian of one output, (N, 1)"),
        Registration(
            "divergence", _divergence, DivergenceParams, "divergence of a vector field, (N, 1)"
        ),
    ]
