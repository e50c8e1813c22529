"""A constraint's residual at each point, outside the training step (the adaptive samplers'
score)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from deepinn.constraints import AbstractConstraint, Batch
from deepinn.operators import Field
from deepinn.training.step._modes import field_mode_for

if TYPE_CHECKING:
    from deepinn.training.step._loss import PINNLoss

__all__ = ["pointwise_residual"]


def pointwise_residual(
    loss: PINNLoss,
    constraint: AbstractConstraint | str,
    batch: Batch | torch.Tensor,
    chunk: int = 32_768,
) -> torch.Tensor:
    """``|residual|`` (the norm over its columns) of ``constraint`` at each point, (N,).

    Evaluated with the network as it is now, in eager mode, in chunks of ``chunk`` rows, on
    the network's device and dtype; the result is detached, on the CPU, float64.

    Args:
        loss: The loss whose network, problem and field mode are used.
        constraint: A constraint of the problem, or its name.
        batch: Its batch (``constraint.sample(...)``: points and per-point data) or bare
            (N, d) points (for constraints whose residual needs nothing else).
    """
    if isinstance(constraint, str):
        constraint = next(c for c in loss.problem.constraints if c.name == constraint)
    group = next(g for g in loss.groups if constraint in g.members)
    if isinstance(batch, torch.Tensor):
        batch = {"x": batch}
    reference = next(iter(loss.network.parameters()), None)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None else torch.get_default_dtype()
    n = batch["x"].shape[0]
    norms = []
    with torch.enable_grad():
        for start in range(0, n, chunk):
            part = {
                key: (value[start : start + chunk]).to(
                    device, dtype if value.is_floating_point() else value.dtype
                )
                for key, value in batch.items()
            }
            field = Field(
                loss.network,
                constraint.inputs(part),
                loss.problem.space,
                output_names=loss.problem.outputs,
                mode=field_mode_for(loss.field_mode),
                second_order=group.second_order,
                laplacian_only=group.laplacian_only,
            )
            residual = constraint.checked_residual(field, part)
            norms.append(residual.detach().norm(dim=1).to("cpu", torch.float64))
    return torch.cat(norms)
