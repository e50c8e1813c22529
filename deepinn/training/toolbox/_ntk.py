"""The trace of each constraint's neural tangent kernel block, from per-sample gradients.

With ``r_n`` the residual entries of constraint ``i`` (each row's each column) and ``theta`` the
trained parameters, the diagonal of its NTK block is ``K_nn = ||d r_n / d theta||^2``. Its mean
over the entries, ``tr(K_ii) / N_i``, is what the JAX-PI / PirateNet recipe (Wang, Wang &
Perdikaris 2022; Wang et al. 2023) balances: ``lambda_i = sum_j tr_j / tr_i``.

The mean is estimated on ``rows`` rows of each constraint's current batch, evenly spaced (so a
grid keeps its spread, and the choice is deterministic: a resumed run picks the same rows): the
residual is evaluated on those rows alone, then differentiated entry by entry with the graph
kept, in one vectorised backward (``is_grads_batched``; entry by entry where an operation has
no batching rule). Everything stays on the device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch._functorch.config

from deepinn.operators import Field
from deepinn.training.step._modes import field_mode_for

__all__ = ["mean_ntk_diagonals"]


def _rows(batch: Mapping[str, Any], rows: int) -> dict[str, Any]:
    """``rows`` evenly spaced rows of every per-point tensor of ``batch`` (all when fewer)."""
    n = batch["x"].shape[0]
    if n <= rows:
        return dict(batch)
    index = torch.linspace(0, n - 1, rows, device=batch["x"].device).round().long()
    return {
        key: value.index_select(0, index)
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == n
        else value
        for key, value in batch.items()
    }


def _squared_gradient_norms(
    residual: torch.Tensor, parameters: Sequence[torch.Tensor]
) -> torch.Tensor:
    """``||d r_n / d theta||^2`` of every entry of ``residual``, (entries,)."""
    count = residual.numel()
    basis = torch.eye(count, dtype=residual.dtype, device=residual.device)
    grads: tuple[torch.Tensor | None, ...]
    with torch._functorch.config.patch(donated_buffer=False):
        try:  # one vectorised backward for every entry
            grads = torch.autograd.grad(
                residual, parameters, basis.reshape(count, *residual.shape),
                retain_graph=True, allow_unused=True, is_grads_batched=True,
            )
        except torch.OutOfMemoryError:
            raise
        except RuntimeError:  # an operation without a batching rule: entry by entry
            rows = [
                torch.autograd.grad(entry, parameters, retain_graph=True, allow_unused=True)
                for entry in residual.reshape(-1)
            ]
            grads = tuple(
                None if any(row[k] is None for row in rows)
                else torch.stack([g for row in rows if (g := row[k]) is not None])
                for k in range(len(parameters))
            )
    total = residual.new_zeros(count)
    for gradient in grads:
        if gradient is not None:
            total = total + gradient.reshape(count, -1).square().sum(dim=1)
    return total.detach()


def mean_ntk_diagonals(
    loss: Any,
    points: Mapping[str, Mapping[str, Any]],
    parameters: Sequence[torch.Tensor],
    rows: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each constraint's sum of NTK diagonal entries and their count, on ``rows`` rows.

    Args:
        loss: The :class:`~deepinn.training.step._loss.PINNLoss` (its network, problem, groups
            and field mode).
        points: The step's batch of each constraint, by name.
        parameters: The trained parameters.
        rows: Rows of each constraint's batch to estimate on.

    Returns:
        ``(sums, counts)``, each (constraints,) in the problem's order, on the parameters'
        device (their ratio is the mean diagonal; the two sum over DDP ranks).
    """
    sums, counts = [], []
    like = parameters[0]
    for constraint in loss.problem.constraints:
        group = next(g for g in loss.groups if constraint in g.members)
        part = _rows(points[constraint.name], rows)
        field = Field(
            loss.network,
            constraint.inputs(part),
            loss.problem.space,
            output_names=loss.problem.outputs,
            mode=field_mode_for(loss.field_mode, (loss.group_modes or {}).get(
                group.members[0].name)),
            second_order=group.second_order,
            laplacian_only=group.laplacian_only,
        )
        residual = constraint.checked_residual(field, part)
        if not residual.requires_grad:  # no parameter reaches it (a constant residual)
            sums.append(like.new_zeros(()))
        else:
            sums.append(_squared_gradient_norms(residual, parameters).sum().to(like))
        counts.append(like.new_tensor(float(residual.numel())))
    return torch.stack(sums), torch.stack(counts)
