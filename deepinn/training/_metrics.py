"""Error measures against a known solution."""

from __future__ import annotations

import torch

from deepinn._errors import ConfigurationError

__all__ = ["relative_l2"]


def relative_l2(prediction: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """``||prediction - exact||_2 / ||exact||_2`` over all points and outputs.

    Where the exact solution is zero everywhere, the absolute error ``||prediction - exact||_2``.

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
        return (prediction - exact).norm()
    return (prediction - exact).norm() / denominator
