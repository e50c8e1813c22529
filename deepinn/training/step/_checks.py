"""The loss's checks before training: a run that could only pretend to train is refused.

Run once, on the problem (:func:`check_weights`) and on the first batch
(:func:`check_first_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.problems import Problem
from deepinn.problems._problem import mostly_outside
from deepinn.training.step._plan import Points

__all__ = ["check_first_batch", "check_weights", "named_trained"]

Evaluate = Callable[[Points, Mapping[str, int] | None], dict[str, torch.Tensor]]
"""Each constraint's loss for a batch, eager, with its graph."""


def check_weights(problem: Problem) -> None:
    """Refuse a problem every constraint of which has weight 0: its loss is 0."""
    if all(constraint.weight == 0 for constraint in problem.constraints):
        raise ConfigurationError(
            f"Every constraint of problem {problem.name!r} has weight 0, so the loss is 0 "
            "and training would change nothing; give at least one a positive weight "
            "(problem.weights.<name>=1, weight: in a problem=custom entry, or "
            "constraint.weight in Python)."
        )


def check_points_inside(problem: Problem, points: Points) -> None:
    """Refuse a constraint most of whose network inputs lie outside the problem's domain: an
    initial time outside the time range, a periodic shift along the wrong coordinate."""
    for constraint in problem.constraints:
        x = constraint.inputs(points[constraint.name])
        outside = mostly_outside(problem.domain, x)
        if outside is not None:
            raise ConfigurationError(
                f"Constraint {constraint.name!r}: {100 * outside[0]:.0f}% of its points (e.g. "
                f"{outside[1]}) lie outside the problem's domain {problem.domain!r}, "
                "where the network is not trained to mean anything. Check its placement: an "
                "initial time t0 inside the time range, a periodic shift along the periodic "
                "coordinate (in the order of the coordinates), data inside the domain."
            )


def named_trained(problem: Problem, network: Any) -> list[tuple[str, torch.Tensor]]:
    """The network's and the problem's parameters that train, by name."""
    named = getattr(network, "named_parameters", None)  # a module, or a plain function
    pairs = list(named()) if callable(named) else []
    pairs += list(problem.parameters.items())
    return [(name, p) for name, p in pairs if p.requires_grad]


def check_first_batch(
    problem: Problem,
    network: Any,
    points: Points,
    rows: Mapping[str, int] | None,
    evaluate: Evaluate,
) -> None:
    """Refuse points outside the domain, weights or losses that are not finite, and a weighted
    term that no trained weight reaches: training could not lower it (a residual that names no
    output, a constant), so the run would only pretend to fit it.

    One eager evaluation (``evaluate``) on the first batch; only the points are checked when
    nothing is trained.
    """
    check_points_inside(problem, points)
    named = named_trained(problem, network)
    trained = [p for _, p in named]
    if not trained:
        return
    bad_weights = [name for name, p in named if not bool(p.isfinite().all())]
    if bad_weights:
        raise ConfigurationError(
            f"The network's initial weights are not finite ({bad_weights[:3]}); check its "
            "initialisation and settings, or the checkpoint it was loaded from."
        )
    with torch.enable_grad():
        losses = evaluate(points, rows)
    infinite = [name for name, loss in losses.items() if not bool(torch.isfinite(loss))]
    if infinite:
        raise ConfigurationError(
            f"Constraint(s) {infinite}: the loss is not finite at the initial weights, before "
            "any step, so no learning rate would help. The network's outputs overflow there "
            "(check its settings: net.rwf_mean, net.fourier_scale, the activation) or the "
            "residual is not finite at some points (a division by zero, a log or sqrt of a "
            "negative number)."
        )
    weights = {c.name: c.weight for c in problem.constraints}
    dead = []
    for name, loss in losses.items():
        if weights[name] == 0:
            continue
        reached = loss.requires_grad and any(
            gradient is not None
            for gradient in torch.autograd.grad(
                loss, trained, allow_unused=True, retain_graph=True
            )
        )
        if not reached:
            dead.append(name)
    if dead:
        raise ConfigurationError(
            f"Constraint(s) {dead}: the residual does not depend on the network's outputs "
            "(nor on a learnable coefficient), so training cannot lower it. Write it in "
            "terms of the outputs and their derivatives (e.g. -u_xx - u_yy - f, or in Python "
            "lambda f: -f.laplacian('u') - source), or remove the constraint."
        )
