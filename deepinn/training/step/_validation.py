"""What a training module measures at each validation: the error against the solution and the
learned coefficients' errors, logged against the optimizer step like the losses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch

from deepinn.problems import Problem
from deepinn.training.service._metrics import relative_l2, relative_l2_per_output

if TYPE_CHECKING:
    from deepinn.training.step._module import PINNModule

__all__ = ["log_validation", "logged_name", "predict", "validation_metrics"]

LOGGED_GROUP = "error"
"""The loggers' name for the ``val`` metrics' group: TensorBoard sorts its groups by name and
opens the first two, so the errors come first, then ``train`` (the losses)."""


def logged_name(name: str) -> str:
    """The loggers' tag of the validation metric ``name``: ``val/rel_l2`` is ``error/rel_l2``,
    ``val/coefficient_error/k`` is ``error/coefficient/k``."""
    rest = name.removeprefix("val/").replace("coefficient_error/", "coefficient/", 1)
    return f"{LOGGED_GROUP}/{rest}"


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


def log_validation(module: PINNModule, metrics: Mapping[str, torch.Tensor]) -> None:
    """Give ``metrics`` to Lightning (the checkpoint's ``monitor`` and the progress line read
    them by these names) and write them to ``module``'s loggers at the optimizer step,
    ``module.global_step``, under their :func:`logged_name`.

    Lightning's own logging of a validation metric would write it at its count of training
    batches, not of optimizer steps (a batch holds several steps), and add an ``epoch`` scalar.
    Every rank measures the whole evaluation set (same parameters, same value); the sync (once per
    validation) only keeps Lightning's epoch-level bookkeeping uniform.
    """
    if not metrics:
        return
    module.log_dict(
        dict(metrics), on_step=False, on_epoch=True, batch_size=1, sync_dist=True, logger=False
    )
    if not module.loggers or not module.trainer.is_global_zero:
        return
    numbers = torch.stack([value.detach().double() for value in metrics.values()]).tolist()
    values = dict(zip(map(logged_name, metrics), numbers, strict=True))
    for logger in module.loggers:
        logger.log_metrics(values, step=module.global_step)
