"""The Field modes, the run-level ``field_mode`` values, and the strategy each mode builds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.operators._cache import DerivativeCache
from deepinn.operators._derivatives import AbstractDerivatives
from deepinn.operators._forward_derivatives import ForwardDerivatives
from deepinn.operators._lanes import LaneDerivatives, offers_lanes
from deepinn.operators._reverse import ReverseDerivatives

__all__ = ["DERIVATIVE_MODES", "FIELD_MODES", "check_mode", "make_derivatives"]

DERIVATIVE_MODES: tuple[str, ...] = ("lanes", "reverse", "forward")
"""The modes of a :class:`~deepinn.operators.Field` (its ``mode`` argument):

- ``'lanes'``: the network's forward lanes (``forward_derivatives`` / ``forward_laplacian``)
  where it offers them and the residual declared its second derivatives; nested reverse mode
  for everything else (and for every derivative when the lanes cannot serve).
- ``'reverse'``: every derivative by nested ``torch.autograd.grad`` through the cache.
- ``'forward'``: the lanes as in ``'lanes'``; second and higher derivatives they do not carry by
  nested ``torch.func.jvp``; first derivatives by reverse mode.
"""

FIELD_MODES: tuple[str, ...] = ("auto", "reverse", "forward")
"""The values of a training run's ``field_mode`` (not Field modes):

- ``'auto'``: the training step chooses, per group of constraints sharing a forward pass,
  between the Field modes ``'lanes'`` and ``'reverse'`` by a short timed probe on the first
  batch (groups that cannot use the lanes take ``'lanes'``, which is then reverse mode).
- ``'reverse'`` and ``'forward'``: that Field mode for every group.
"""


def check_mode(mode: str) -> None:
    """Raise unless ``mode`` is one of :data:`DERIVATIVE_MODES`.

    Raises:
        ConfigurationError: naming the mode and the valid ones.
    """
    if mode not in DERIVATIVE_MODES:
        hint = (
            " 'auto' is a value of a training run's field_mode, not a Field mode: use 'lanes' "
            "for the network's forward lanes where it offers them."
            if mode == "auto" else ""
        )
        raise ConfigurationError(
            f"Field mode {mode!r} is not one of {list(DERIVATIVE_MODES)}; use 'lanes' for the "
            "network's forward lanes (else nested autograd), 'reverse' for nested autograd, or "
            f"'forward' for forward-mode second derivatives.{hint}"
        )


def make_derivatives(
    mode: str,
    fn: Callable[[torch.Tensor], Any],
    x: torch.Tensor,
    output_names: tuple[str, ...],
    cache: DerivativeCache,
    second_order: Sequence[int] | None = None,
    laplacian_only: bool = False,
) -> AbstractDerivatives:
    """The derivative strategy of a Field in ``mode`` (one of :data:`DERIVATIVE_MODES`).

    In ``'lanes'`` and ``'forward'`` mode the strategy is a :class:`LaneDerivatives` around
    reverse or forward mode when ``second_order`` is declared and ``fn`` offers the lanes, and
    that mode alone otherwise.

    Raises:
        ConfigurationError: ``mode`` is not a Field mode.
    """
    check_mode(mode)
    if mode == "reverse":
        return ReverseDerivatives(fn, x, output_names, cache)
    fallback: AbstractDerivatives
    if mode == "forward":
        fallback = ForwardDerivatives(fn, x, output_names, cache)
    else:
        fallback = ReverseDerivatives(fn, x, output_names, cache)
    if second_order is None or not offers_lanes(fn, laplacian_only):
        return fallback
    return LaneDerivatives(fallback, second_order, laplacian_only)
