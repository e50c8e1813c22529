"""What a training module measures at each validation: the error against the solution and the
learned coefficients' errors."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from deepinn.problems import Problem
from deepinn.training.service._metrics import relative_l2, relative_l2_per_output

__all__ = ["predict", "validation_metrics"]


def predict(network: torch.nn.Module, x: torch.Tensor, chunk: int = 65_536) -> torch.Tensor:
    """``network``'s outputs at ``x`` (in its dtype, no graph kept), in chunks of ``chunk``."""
    x = x.to(next(network.parameters()).dtype)
    with torch.no_grad():
        return torch.cat([network(part) for part in x.split(chunk)])


def validation_metrics(
    problem: Problem,
    network: torch.nn.Module,
    coefficients: Mapping[str, torch.Tensor],
    batch: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """``val/rel_l2`` (all outputs and each one) where the evaluation set has values ``u``, and
    ``val/coefficient_error/<name>`` of each coefficient whose true value the problem knows."""
    metrics: dict[str, torch.Tensor] = {}
    if "u" in batch:
        prediction = problem.modulo_gauge(predict(network, batch["x"]), batch["u"])
        metrics["val/rel_l2"] = relative_l2(prediction, batch["u"])
        for name, error in relative_l2_per_output(
            prediction, batch["u"], problem.outputs
        ).items():
            metrics[f"val/rel_l2/{name}"] = error
    for name, true in problem.true_parameters.items():
        value = coefficients[name].detach().reshape(-1)[0]
        metrics[f"val/coefficient_error/{name}"] = (value - true).abs() / abs(true)
    return metrics
