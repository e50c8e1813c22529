"""Loss balancing: global weights from the constraints' gradient norms (Wang et al. 2021/2023).

``weighting.name=grad_norm``: every ``weighting.every`` steps, with ``g_i = ||grad L_i|| / w_i``
(the gradient norm of constraint i's loss before its configured weight ``w_i``),
``lambda_i_new = sum_j g_j / g_i`` and ``lambda_i = alpha * lambda_i + (1 - alpha) *
lambda_i_new`` (a term whose gradient norm is at rounding level, below machine epsilon times
the largest, keeps its weight). The loss is ``sum_i lambda_i * L_i``; the configured weights
still multiply (the balanced gradients are ``w_i * sum_j g_j``).

``weighting.name=ntk`` (the JAX-PI / PirateNet recipe): the same rule and moving average with
``g_i`` replaced by the mean diagonal of constraint i's neural tangent kernel block,
``mean_n ||d r_n / d theta||^2`` over its residual entries (before its configured weight),
estimated on ``weighting.ntk_rows`` rows of the step's batch (:mod:`._ntk`).

The weights are a buffer of the module, so checkpoints hold them (plain tensors) and a resumed
run continues the moving average where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch._functorch.config

from deepinn._errors import TrainingError
from deepinn.training.settings._sections import WEIGHTINGS, WeightingConfig
from deepinn.training.toolbox._ntk import mean_ntk_diagonals

__all__ = ["WEIGHTINGS", "LossWeighting", "WeightingConfig"]


def _retained_grad(
    loss: torch.Tensor, parameters: Sequence[torch.Tensor]
) -> tuple[torch.Tensor | None, ...]:
    """``d loss / d parameters``, keeping the graph for the step's backward.

    A compiled loss (``compile=true``) is compiled without donated buffers; torch still refuses a
    retained-graph backward through it unless ``donated_buffer`` is off while it runs.
    """
    with torch._functorch.config.patch(donated_buffer=False):
        return torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)


class LossWeighting(torch.nn.Module):
    """The balancing weights of a problem's constraints, a buffer (so checkpoints hold them).

    Args:
        config: name, alpha, every.
        names: The constraints, in the loss's order.
        constraint_weights: Each constraint's configured weight (the norms are taken before it).
    """

    def __init__(
        self,
        config: WeightingConfig,
        names: Sequence[str],
        constraint_weights: Sequence[float],
    ) -> None:
        super().__init__()
        self.config = config
        self.names = list(names)
        self.constraint_weights = [float(w) for w in constraint_weights]
        self.weights: torch.Tensor
        self.register_buffer("weights", torch.ones(len(self.names)))

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def due(self, step: int) -> bool:
        """Whether the weights are updated at ``step``."""
        return self.enabled and step % self.config.every == 0

    def combine(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``sum_i lambda_i * L_i`` (the weights are constants)."""
        if not self.enabled:
            return torch.stack([losses[name] for name in self.names]).sum()
        weights = self.weights.detach()
        return torch.stack(
            [weights[i].to(losses[name]) * losses[name] for i, name in enumerate(self.names)]
        ).sum()

    def gradient_norms(
        self,
        losses: Mapping[str, torch.Tensor],
        parameters: Sequence[torch.Tensor],
        reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``||grad L_i||`` per constraint, of the global loss when ``reduce`` sums over ranks.

        Under DDP each rank's ``L_i`` is its shard's part of the global loss, so the global
        gradient is the sum of the ranks' gradients: the per-constraint gradients are summed
        (one all-reduce) before the norms are taken. The graph is kept for the step's backward.
        """
        rows = []
        for name in self.names:
            loss = losses[name]
            grads = (
                _retained_grad(loss, parameters) if loss.requires_grad else [None] * len(parameters)
            )
            rows.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(grads, parameters, strict=True)
                    ]
                )
            )
        matrix = torch.stack(rows).detach()
        if reduce is not None:
            matrix = reduce(matrix)
        return matrix.norm(dim=1)

    def update(
        self,
        losses: Mapping[str, torch.Tensor],
        parameters: Sequence[torch.Tensor],
        reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
        loss: Any = None,
        points: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Recompute the weights (moving average): from the losses' gradient norms
        (``grad_norm``), or from the mean NTK diagonal of each constraint's residual on the
        step's ``points`` through ``loss``, the PINNLoss (``ntk``). ``reduce`` sums over the DDP
        ranks (default: the loss's, when ``loss`` is given)."""
        # On the device, with no host sync: this runs inside the training step.
        if reduce is None and loss is not None:
            reduce = loss.reduce
        weights = torch.tensor(self.constraint_weights).to(self.weights)
        if self.config.name == "ntk":
            if loss is None or points is None:
                raise TrainingError(
                    "weighting.name=ntk: LossWeighting.update needs loss= (the PINNLoss) and "
                    "points= (the step's batch) to differentiate the residuals."
                )
            sums, counts = mean_ntk_diagonals(loss, points, parameters, self.config.ntk_rows)
            totals = torch.stack([sums, counts])
            if reduce is not None:
                totals = reduce(totals)
            means = (totals[0] / totals[1].clamp_min(1.0)).to(self.weights)
            raw = torch.where(weights > 0, means, torch.nan)
        else:
            norms = self.gradient_norms(losses, parameters, reduce).to(self.weights)
            raw = torch.where(weights > 0, norms / weights.clamp_min(1e-300), torch.nan)
        self._blend(raw)

    def _blend(self, raw: torch.Tensor) -> None:
        """``lambda_i <- alpha lambda_i + (1 - alpha) sum_j raw_j / raw_i`` over the usable
        terms (finite, above rounding level against the largest); the others keep theirs."""
        finite = torch.isfinite(raw)
        # A term whose gradient is at rounding level against the largest one keeps its weight:
        # sum_j g_j / g_i would be huge. (A condition an exact embedding satisfies has a residual
        # ~eps |u| whose parameter gradient is ~eps |grad u|: its loss gradient is ~eps^2.)
        floor = torch.finfo(raw.dtype).eps * torch.where(finite, raw, 0.0).max()
        usable = finite & (raw > floor)
        total = torch.where(usable, raw, 0.0).sum()
        new = torch.where(usable, total / torch.where(usable, raw, 1.0), self.weights)
        alpha = self.config.alpha
        blended = alpha * self.weights + (1.0 - alpha) * new
        self.weights.copy_(torch.where(usable.any(), blended, self.weights))

    def logged(self) -> dict[str, torch.Tensor]:
        """``train/weight/<name>`` for the loggers (empty when balancing is off)."""
        if not self.enabled:
            return {}
        return {f"train/weight/{name}": self.weights[i] for i, name in enumerate(self.names)}
