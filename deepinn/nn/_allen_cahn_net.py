"""``net=allen_cahn_net``: a preset of the periodic embedding for the Allen-Cahn problem.

Registered by the networks plugin; it is made for ``problem=allen_cahn`` (inputs ``(x, t)`` on
``[-1, 1] x [0, 1]``, period 2 in x). It replaces the soft periodic condition, which PINNs
satisfy poorly, with an exact one:

    u(x, t) = N(cos(k pi x), sin(k pi x) for k = 1..frequencies, 2 t - 1)

is 2-periodic in x with all its derivatives. It is exactly ``net=mlp net.periodic={x:2.0}
net.periodic_modes=<frequencies>`` on the Allen-Cahn box (see ``_embeddings.PeriodicEmbedding``),
and takes the same ``architecture`` and ``rwf`` options; it keeps the forward-Laplacian fast path.

With ``hard_initial=True`` it also satisfies the initial condition exactly,
``u = x^2 cos(pi x) + t N(...)``, but the initial condition's slope is not periodic (+-2 at
x = -+1), so that form cannot meet the periodic derivative condition for t > 0; the default keeps
the initial condition soft. (The hard form has no forward lanes: its derivatives use autograd.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from deepinn._errors import ConfigurationError
from deepinn.nn._network import compose_network
from deepinn.nn._options import ArchitectureOptions

__all__ = ["AllenCahnNetParams", "HardInitial", "build_allen_cahn_net"]

BOX = ([-1.0, 0.0], [1.0, 1.0])
"""The Allen-Cahn box: x in [-1, 1] (period 2), t in [0, 1] (normalised to 2 t - 1)."""


@dataclass
class AllenCahnNetParams(ArchitectureOptions):
    """Parameters of ``net=allen_cahn_net`` (the MLP behind the periodic embedding)."""

    hidden: list[int] = field(default_factory=lambda: [64, 64, 64, 64])
    activation: str = "tanh"
    initialiser: str = "xavier_normal"
    frequencies: int = 1
    hard_initial: bool = False

    def validate(self) -> None:
        super().validate()
        if isinstance(self.frequencies, bool) or self.frequencies < 1:
            raise ConfigurationError(
                f"net=allen_cahn_net: frequencies = {self.frequencies!r}; use an int >= 1 "
                "(the number of Fourier modes in x)."
            )


class HardInitial(torch.nn.Module):
    """``u = x^2 cos(pi x) + t N(x, t)``: the Allen-Cahn initial condition held exactly."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net
        self.in_dim, self.out_dim = 2, 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``u`` (N, 1) at points (N, 2) with columns (x, t)."""
        s, t = x[:, 0:1], x[:, 1:2]
        return s**2 * torch.cos(math.pi * s) + t * self.net(x)


def build_allen_cahn_net(
    params: AllenCahnNetParams, in_dim: int, out_dim: int, bounds: object = None, **_: object
) -> torch.nn.Module:
    """Build the preset (inputs ``(x, t)``, one output); ``bounds`` is the fixed Allen-Cahn box."""
    if in_dim != 2 or out_dim != 1:
        raise ConfigurationError(
            f"net=allen_cahn_net maps (x, t) to u: in_dim 2 and out_dim 1, got in_dim={in_dim}, "
            f"out_dim={out_dim}. Use it with problem=allen_cahn, or pick net=mlp "
            "net.periodic={x:<period>}."
        )
    net = compose_network(
        2, 1, list(params.hidden),
        activation=params.activation, initialiser=params.initialiser, bounds=BOX,
        architecture=params.architecture, rwf=params.rwf_pair(),
        periodic={0: 2.0}, periodic_modes=params.frequencies,
    )
    return HardInitial(net) if params.hard_initial else net
