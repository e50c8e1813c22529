"""Outputs determined only up to a constant (a gauge), and the error measured modulo it.

The pressure of incompressible flow and the solution of a pure-Neumann problem are fixed only up
to an additive constant: the loss does not see it, so the network settles on any constant and an
error against the exact solution measures that constant, not the solution. A problem declares
such outputs with ``gauge={"p": "mean"}``; the error is then measured after subtracting, from each
gauged output's prediction, the mean of its difference to the solution over the evaluation set
(the constant that makes the L2 error smallest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from deepinn._errors import ConfigurationError, nearest

__all__ = ["GAUGES", "check_gauge", "modulo_gauge"]

GAUGES: tuple[str, ...] = ("mean",)
"""The kinds of gauge an output can declare: ``mean`` (free additive constant)."""


def check_gauge(problem: str, gauge: Mapping[str, str] | None, outputs: Sequence[str]) -> dict[
    str, str
]:
    """``gauge`` as a dict output -> kind, checked against the problem's outputs.

    Raises:
        ConfigurationError: Not a mapping, an output the problem does not have, or a kind not in
            :data:`GAUGES`.
    """
    if gauge is None:
        return {}
    if not isinstance(gauge, Mapping):
        raise ConfigurationError(
            f"Problem {problem!r}: gauge = {gauge!r}; give a mapping output -> kind, e.g. "
            "gauge={'p': 'mean'} (YAML: gauge: {p: mean})."
        )
    checked: dict[str, str] = {}
    for name, kind in gauge.items():
        if name not in outputs:
            guess = nearest(str(name), list(outputs))
            hint = f" Did you mean {guess!r}?" if guess else ""
            raise ConfigurationError(
                f"Problem {problem!r}: gauge names the output {name!r}, but the outputs are "
                f"{list(outputs)}; name one of those.{hint}"
            )
        if kind not in GAUGES:
            raise ConfigurationError(
                f"Problem {problem!r}: gauge.{name} = {kind!r} is not a gauge; choose one of "
                f"{list(GAUGES)} (mean: the output is fixed up to an additive constant)."
            )
        checked[str(name)] = str(kind)
    return checked


def modulo_gauge(
    prediction: torch.Tensor,
    solution: torch.Tensor,
    gauge: Mapping[str, str],
    outputs: Sequence[str],
) -> torch.Tensor:
    """``prediction`` with each gauged output's free constant removed: the column minus the mean
    of its difference to ``solution`` (the other columns unchanged; a copy when anything moves).
    """
    if not gauge or prediction.shape != solution.shape or prediction.dim() != 2:
        return prediction
    shifted = prediction.clone()
    for name in gauge:
        column = list(outputs).index(name)
        offset = (prediction[:, column] - solution[:, column].to(prediction)).mean()
        shifted[:, column] = prediction[:, column] - offset
    return shifted
