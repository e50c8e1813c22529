"""Causal training: a space-time PDE residual weighted chunk by chunk in time.

Wang, Sankaran and Perdikaris (2022), "Respecting causality is all you need for training
physics-informed neural networks": the residual loss is split into M time chunks
``L_1 .. L_M`` and ``loss = mean_i w_i L_i`` with ``w_i = exp(-tol * sum_{k<i} L_k)``, the weights
detached, so a later time is trained only once the earlier ones are resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.distributed as dist

from deepinn._errors import ConfigurationError, Setting
from deepinn.constraints import AbstractConstraint
from deepinn.training.settings._sections import CausalConfig

__all__ = ["CausalConfig", "CausalWeighting", "causal_weights", "sum_over_ranks"]

Reduce = Callable[[torch.Tensor], torch.Tensor]
"""Sums a tensor over the DDP ranks (identity on one process)."""


def sum_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """``value`` summed over the ranks of the default process group (a new tensor)."""
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def causal_weights(chunk_losses: torch.Tensor, tol: float) -> torch.Tensor:
    """``w_i = exp(-tol * sum_{k<i} L_k)`` for chunk losses (M,), detached."""
    losses = chunk_losses.detach()
    before = torch.cumsum(losses, 0) - losses
    return torch.exp(-tol * before)


def _time_bounds(constraint: AbstractConstraint, column: int) -> tuple[float, float]:
    moved = getattr(constraint, "point_map", None)
    if getattr(moved, "column", None) == column:  # time marching moved this column into a window
        window = moved.target  # type: ignore[union-attr]
        return float(window[0]), float(window[1])
    domain = getattr(getattr(constraint, "sampler", None), "domain", None)
    if domain is None:
        raise ConfigurationError(
            f"causal training needs the time range of constraint {constraint.name!r}; it has no "
            "sampler with a domain."
        )
    lower, upper = domain.bounding_box()
    return float(lower[column]), float(upper[column])


class CausalWeighting:
    """Which constraints are weighted causally, their time columns and ranges, and the loss.

    The constraints are the PDE residuals (:class:`deepinn.constraints.PDEConstraint`) whose
    space has the coordinate ``config.time``. Chunk ``i`` holds the points with
    ``t`` in the i-th of M equal parts of the domain's time range; its loss is
    ``sum_{points in chunk} |r|^2 * M / (rows * columns)`` (rows: the global number of points),
    so the chunks' mean is the plain mean squared residual and shards sum to the global value.

    Args:
        config: tol, chunks, time.
        constraints: The problem's constraints.

    Raises:
        ConfigurationError: Causal training is on (tol > 0) and no PDE constraint lives on a
            space with the time coordinate.
    """

    def __init__(self, config: CausalConfig, constraints: Sequence[AbstractConstraint]) -> None:
        from deepinn.constraints import PDEConstraint

        self.config = config
        self.columns: dict[str, tuple[int, float, float]] = {}
        self.last_weights: dict[str, torch.Tensor] = {}
        if not config.enabled:
            return
        for constraint in constraints:
            if not isinstance(constraint, PDEConstraint):
                continue
            names = constraint.space.coordinate_names()
            if config.time in names:
                column = names.index(config.time)
                self.columns[constraint.name] = (column, *_time_bounds(constraint, column))
        if not self.columns:
            pdes = [c.name for c in constraints if isinstance(c, PDEConstraint)]
            spaces = " / ".join(
                sorted({"(" + ", ".join(c.space.coordinate_names()) + ")" for c in constraints})
            )
            raise ConfigurationError(
                f"Causal training (causal.tol {config.tol} > 0) needs a PDE constraint on a "
                f"space-time domain with the time coordinate {config.time!r} (causal.time); the "
                f"PDE constraints {pdes} have coordinates {spaces}. Name another coordinate as "
                "causal.time, or switch causal training off for a problem without time: {fix}",
                fix=[Setting("causal.tol", 0, python="causal={'tol': 0}")],
            )

    def applies_to(self, name: str) -> bool:
        return name in self.columns

    def loss(
        self,
        name: str,
        x: torch.Tensor,
        residual: torch.Tensor,
        rows: int,
        reduce: Reduce | None = None,
    ) -> torch.Tensor:
        """The causal residual loss (before the constraint's weight) of one shard.

        Args:
            name: The constraint.
            x: Its points (n, d) (this shard's).
            residual: Its residual (n, m).
            rows: The constraint's global number of points.
            reduce: Sums the chunk losses over the ranks (so the weights are global).
        """
        column, t0, t1 = self.columns[name]
        m = self.config.chunks
        span = t1 - t0 if t1 > t0 else 1.0
        t = x[:, column].detach()
        index = ((t - t0) / span * m).floor().clamp(0, m - 1).long()
        squares = residual.square().sum(dim=1)
        chunk = squares.new_zeros(m).index_add(0, index, squares) * (m / (rows * residual.shape[1]))
        total = chunk.detach() if reduce is None else reduce(chunk.detach())
        weights = causal_weights(total, self.config.tol)
        self.last_weights[name] = weights
        return (weights * chunk).sum() / m
