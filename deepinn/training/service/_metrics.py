"""Error measures against a known solution."""

from __future__ import annotations

import torch

from deepinn._errors import ConfigurationError

__all__ = ["relative_l2", "relative_l2_per_output"]


def relative_l2(prediction: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """``||prediction - exact||_2 / ||exact||_2`` over all points and outputs.

    Where the exact solution is zero everywhere (no relative error exists), the root mean square
    of the error, ``||prediction||_2 / sqrt(N * outputs)``: an absolute error that, unlike the
    bare norm, does not grow with the number of evaluation points.

    Raises:
        ConfigurationError: The shapes differ (the network has the wrong number of outputs).
    """
    if prediction.shape != exact.shape:
        raise ConfigurationError(
            f"Prediction shape {tuple(prediction.shape)} does not match the solution's "
            f"{tuple(exact.shape)}; the network needs one output per problem output."
        )
    denominator = exact.norm()
    if denominator == 0:
        return (prediction - exact).norm() / max(exact.numel(), 1) ** 0.5
    return (prediction - exact).norm() / denominator


def relative_l2_per_output(
    prediction: torch.Tensor, exact: torch.Tensor, outputs: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """:func:`relative_l2` of each output's column, by name (empty for a single output, whose
    error is the whole one): the pooled figure hides the error of an output with small values.
    """
    if len(outputs) < 2 or prediction.shape != exact.shape or exact.shape[1] != len(outputs):
        return {}
    return {
        name: relative_l2(prediction[:, i : i + 1], exact[:, i : i + 1])
        for i, name in enumerate(outputs)
    }
