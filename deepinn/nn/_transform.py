"""A network whose outputs pass through a fixed transform: conditions held exactly.

``u(x) = transform(x, N(x))``, e.g. ``-sin(pi x) + t (1 - x^2) N(x, t)`` satisfies Burgers'
initial condition at ``t = 0`` and its boundary condition at ``x = +-1`` for every weight, so
those loss terms can be left out ("hard constraints", Lagaris et al. 1998). A
:class:`~deepinn.problems.Problem` with an ``output_transform`` gets its network wrapped by its
loss (``PINNLoss``, hence the training module); the derivative operators then take autograd
through the transform (the wrapper offers no forward lanes).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepinn._errors import ShapeError

__all__ = ["OutputTransform", "Transform"]

Transform = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``transform(x, raw) -> u``: points (N, d) and the network's raw outputs (N, k) to (N, k)."""


class OutputTransform(torch.nn.Module):
    """``forward(x) = transform(x, network(x))``.

    Args:
        network: The trained network (its parameters are this module's).
        transform: Maps points (N, d) and raw outputs (N, k) to the outputs (N, k).
    """

    def __init__(self, network: torch.nn.Module, transform: Transform) -> None:
        super().__init__()
        self.network = network
        self.transform = transform
        for name in ("in_dim", "out_dim"):
            if hasattr(network, name):
                setattr(self, name, getattr(network, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The transformed outputs (N, k) at points (N, d).

        Raises:
            ShapeError: The transform does not return one row per point and one column per
                output of the network.
        """
        raw = self.network(x)
        u = self.transform(x, raw)
        if not isinstance(u, torch.Tensor) or u.shape != raw.shape:
            raise ShapeError(
                f"The output transform returned {getattr(u, 'shape', type(u).__name__)} for "
                f"network outputs of shape {tuple(raw.shape)}; it must return the same shape "
                "(one column per output)."
            )
        return u
