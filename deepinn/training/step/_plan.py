"""The loss's forward passes: which constraints share one, and what their residuals need."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from deepinn.constraints import AbstractConstraint, Batch
from deepinn.operators._names import resolve_columns
from deepinn.spaces import Space

__all__ = ["Group", "Points", "differentiable_inputs", "group_by_order"]

Points = Mapping[str, Batch]
"""One batch of points: each constraint's name to its sampled batch (``{"x": ..., ...}``)."""


class Group(NamedTuple):
    """Constraints evaluated in one forward pass, and what their residuals need."""

    second_order: tuple[str, ...] | None
    laplacian_only: bool
    members: list[AbstractConstraint]


def group_by_order(constraints: Sequence[AbstractConstraint], space: Space) -> list[Group]:
    """Constraints of one derivative order, with the union of their second-order hints.

    Hints are compared by the columns they name (``'x'`` and ``('x0', 'x1')`` agree). The group
    takes a single Laplacian lane only when every member asks for the Laplacian over the same
    columns: a member without that promise may ask for a single second derivative, which the lane
    cannot give without a double backward (not available under compile).

    Returns:
        One group per derivative order, in increasing order; members keep the problem's order.
    """
    groups: dict[int, list[AbstractConstraint]] = {}
    for constraint in constraints:
        groups.setdefault(constraint.order, []).append(constraint)
    names = space.coordinate_names()
    result = []
    for order in sorted(groups):
        members = groups[order]
        hints = [
            frozenset(resolve_columns(space, list(c.second_order)))
            for c in members
            if c.second_order is not None
        ]
        second = tuple(names[i] for i in sorted(frozenset().union(*hints))) if hints else None
        laplacian_only = len(set(hints)) == 1 and all(
            c.second_order is not None and c.laplacian_only for c in members
        )
        result.append(Group(second, laplacian_only, members))
    return result


def differentiable_inputs(points: Points) -> dict[str, Batch]:
    """``points`` with each batch's ``x`` a leaf that requires grad.

    For the compiled whole loss: made here, outside the graph. A ``Field`` given points that do
    not require grad calls ``requires_grad_`` on them, which would split a compiled graph at that
    point (one piece per group of constraints, each a graph of its own and a separate backward).
    """
    return {
        name: dict(batch, x=batch["x"].detach().requires_grad_(True))
        for name, batch in points.items()
    }
