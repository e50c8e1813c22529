"""Physics-informed initialisation of a PirateNet's last layer (Wang et al. 2024).

A PirateNet starts as the linear map ``u = Phi(x) W + b`` of its embedding (every residual
weight ``alpha`` is 0), so the best start within that family is a least-squares fit to the data
the problem prescribes. Before a fresh run trains, each output's row of ``W, b`` is fitted to the
values of the problem's initial conditions, Dirichlet conditions and observed data on it (the
points those constraints draw, from a fixed seed). Not fitted, and said in a warning: a problem
with an output transform (the conditions are then held exactly and the network's raw output is
not the solution), and outputs that no such constraint prescribes (they keep the random
initialisation). ``net.physics_init=false`` skips the fit.
"""

from __future__ import annotations

import warnings

import torch

from deepinn.constraints import DataConstraint, DirichletBC, InitialCondition
from deepinn.nn._pirate import PirateNet
from deepinn.problems import Problem

__all__ = ["physics_informed_init"]

_DATA_KINDS = (InitialCondition, DirichletBC, DataConstraint)


def physics_informed_init(problem: Problem, network: torch.nn.Module, seed: int = 0) -> list[str]:
    """Fit ``network``'s last layer to ``problem``'s initial/boundary/observed values, when it is
    a :class:`~deepinn.nn._pirate.PirateNet` built with ``physics_init`` on.

    Returns:
        The outputs that were fitted (empty when nothing was).
    """
    if not isinstance(network, PirateNet) or not network.physics_init:
        return []
    if problem.output_transform is not None:
        warnings.warn(
            f"net=pirate: problem {problem.name!r} holds its conditions exactly (an output "
            "transform), so the last layer is not fitted to them (physics_init); it keeps its "
            "random initialisation. net.physics_init=false skips the fit and this warning.",
            stacklevel=2,
        )
        return []
    generator = torch.Generator().manual_seed(seed)
    points: dict[str, list[torch.Tensor]] = {name: [] for name in problem.outputs}
    values: dict[str, list[torch.Tensor]] = {name: [] for name in problem.outputs}
    for constraint in problem.constraints:
        if not isinstance(constraint, _DATA_KINDS) or constraint.weight == 0:
            continue
        batch = constraint.sample(generator)
        for column, name in enumerate(constraint.outputs):
            points[name].append(batch["x"])
            values[name].append(batch["target"][:, column])
    missing = [name for name in problem.outputs if not points[name]]
    if missing:
        warnings.warn(
            f"net=pirate: problem {problem.name!r} prescribes no initial, Dirichlet or data "
            f"values of {missing}, so their last-layer weights are not fitted (physics_init) "
            "and keep their random initialisation. Prescribe them with such a constraint, or "
            "net.physics_init=false skips the fit and this warning.",
            stacklevel=2,
        )
    fitted = network.fit_output_layer(
        [torch.cat(points[name]) if points[name] else torch.empty(0) for name in problem.outputs],
        [torch.cat(values[name]) if values[name] else None for name in problem.outputs],
    )
    return [problem.outputs[column] for column in fitted]
