"""The run-level ``field_mode`` turned into each constraint group's Field mode; the probe behind
``auto``.

A run's ``field_mode`` (:data:`~deepinn.operators.FIELD_MODES`) says how the training step picks
the mode of the :class:`~deepinn.operators.Field` each group of constraints is evaluated through
(:data:`~deepinn.operators.DERIVATIVE_MODES`):

- ``auto``: per group whose residuals declared their second derivatives and whose network
  offers forward lanes, whichever of the Field modes ``lanes`` and ``reverse`` a short timed
  probe on the first batch finds faster (:func:`probe_group`); every other group takes
  ``lanes``, which is nested autograd where the lanes cannot serve.
- ``reverse`` and ``forward``: that Field mode for every group, no probe.

The values are checked once, by :class:`~deepinn.training.RunConfig`.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from deepinn.constraints import AbstractConstraint, Batch
from deepinn.operators import Field, offers_lanes
from deepinn.spaces import Space

__all__ = ["field_mode_for", "probe_group", "time_modes"]

_log = logging.getLogger("deepinn.training")

def field_mode_for(field_mode: str, chosen: str | None = None) -> str:
    """The Field mode a group is evaluated in under the run's ``field_mode``.

    Args:
        field_mode: The run's ``field_mode`` (``auto``, ``reverse`` or ``forward``).
        chosen: The Field mode the probe chose for the group, if it ran (a checkpoint written
            before the Field mode ``lanes`` had its name says ``auto`` for it).
    """
    if chosen is not None:
        return "lanes" if chosen == "auto" else chosen
    return "lanes" if field_mode == "auto" else field_mode


def time_modes(
    evaluate: Callable[[str], torch.Tensor],
    parameters: Sequence[torch.Tensor],
    modes: Sequence[str] = ("lanes", "reverse"),
    repeats: int = 5,
) -> tuple[str, dict[str, float]]:
    """The fastest of the Field ``modes`` for one loss term, by a short timed probe.

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


def probe_group(
    network: Any,
    space: Space,
    output_names: Sequence[str],
    members: Sequence[AbstractConstraint],
    points: Mapping[str, Batch],
    second_order: Sequence[str] | None,
    laplacian_only: bool,
) -> tuple[str, dict[str, float]] | None:
    """Time one group's loss through the lanes and through nested autograd (``auto``).

    Args:
        network: The network (with its output transform, if any).
        space: The problem's space.
        output_names: The problem's outputs.
        members: The constraints sharing the group's forward pass.
        points: Each constraint's batch, by name.
        second_order: The coordinates whose second derivatives the residuals take (None: not
            declared).
        laplacian_only: The residuals take them only as the Laplacian.

    Returns:
        The faster Field mode and each mode's median seconds, logged once at INFO; None when
        the group has no choice (no declared second derivatives, or no lanes on the network).
    """
    if second_order is None or not offers_lanes(network, laplacian_only):
        return None

    def evaluate(mode: str) -> torch.Tensor:
        inputs = [c.inputs(points[c.name]) for c in members]
        field = Field(network, torch.cat(inputs), space, output_names=output_names, mode=mode,
                      second_order=second_order, laplacian_only=laplacian_only)
        terms, start = [], 0
        for c, part in zip(members, inputs, strict=True):
            view = field.rows(slice(start, start + len(part)))
            start += len(part)
            terms.append(c.checked_residual(view, points[c.name]).square().mean())
        return torch.stack(terms).sum()

    chosen, seconds = time_modes(evaluate, list(network.parameters()))
    _log.info(
        "field_mode=auto: %s for %s (probe ms: %s)", chosen, [c.name for c in members],
        {m: round(1e3 * t, 3) for m, t in seconds.items()},
    )
    return chosen, seconds
