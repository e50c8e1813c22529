"""A network for the Allen-Cahn problem that satisfies its periodic condition by construction.

Registered as ``net=allen_cahn_net`` by the networks plugin; it is made for
``problem=allen_cahn`` (inputs ``(x, t)`` on ``[-1, 1] x [0, 1]``, period 2 in x). It replaces
the soft periodic condition, which PINNs satisfy poorly, with an exact one:

    u(x, t) = N(cos(k pi x), sin(k pi x) for k = 1..frequencies, 2 t - 1)

is 2-periodic in x with all its derivatives. With ``hard_initial=True`` it also satisfies the
initial condition exactly, ``u = x^2 cos(pi x) + t N(...)``, but the initial condition's slope is
not periodic (+-2 at x = -+1), so that form cannot meet the periodic derivative condition for
t > 0; the default keeps the initial condition soft.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from deepinn._errors import ConfigurationError
from deepinn.nn._mlp import FullyConnected

__all__ = ["AllenCahnNet", "AllenCahnNetParams", "build_allen_cahn_net"]


@dataclass
class AllenCahnNetParams:
    """Parameters of ``net=allen_cahn_net`` (the MLP behind the periodic embedding)."""

    hidden: list[int] = field(default_factory=lambda: [64, 64, 64, 64])
    activation: str = "tanh"
    initialiser: str = "xavier_normal"
    frequencies: int = 1
    hard_initial: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.frequencies, bool) or self.frequencies < 1:
            raise ConfigurationError(
                f"net=allen_cahn_net: frequencies = {self.frequencies!r}; use an int >= 1 "
                "(the number of Fourier modes in x)."
            )


class AllenCahnNet(torch.nn.Module):
    """``(x, t) -> u`` with an exactly periodic embedding of x (period 2); see the module doc.

    Args:
        hidden: Hidden widths of the MLP.
        activation: Its activation.
        initialiser: Its weight initialiser.
        frequencies: Fourier modes ``k = 1..frequencies`` of the embedding.
        hard_initial: Add ``x^2 cos(pi x)`` and multiply the MLP by ``t``.
    """

    def __init__(
        self,
        hidden: list[int],
        activation: str = "tanh",
        initialiser: str = "xavier_normal",
        frequencies: int = 1,
        hard_initial: bool = False,
    ) -> None:
        super().__init__()
        self.body = FullyConnected(
            [2 * frequencies + 1, *hidden, 1], activation=activation, initialiser=initialiser
        )
        self.register_buffer("modes", torch.arange(1, frequencies + 1, dtype=torch.get_default_dtype()))
        self.hard_initial = hard_initial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``u`` (N, 1) at points (N, 2) with columns (x, t)."""
        s, t = x[:, 0:1], x[:, 1:2]
        phase = math.pi * (s * self.modes.to(x.dtype))  # pi in x's precision: periodic to round-off
        out = self.body(torch.cat([torch.cos(phase), torch.sin(phase), 2.0 * t - 1.0], dim=1))
        if self.hard_initial:
            out = s**2 * torch.cos(math.pi * s) + t * out
        return out


def build_allen_cahn_net(
    params: AllenCahnNetParams, in_dim: int, out_dim: int, bounds: object = None
) -> torch.nn.Module:
    """Build an :class:`AllenCahnNet` (inputs ``(x, t)``, one output)."""
    if in_dim != 2 or out_dim != 1:
        raise ConfigurationError(
            f"net=allen_cahn_net maps (x, t) to u: in_dim 2 and out_dim 1, got in_dim={in_dim}, "
            f"out_dim={out_dim}. Use it with problem=allen_cahn, or pick net=mlp."
        )
    return AllenCahnNet(
        list(params.hidden), params.activation, params.initialiser, params.frequencies,
        params.hard_initial,
    )
