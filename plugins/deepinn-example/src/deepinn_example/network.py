"""TEMPLATE (network): ``example_resmlp``, a residual MLP.

    z = scale * x + shift                 (the bounding box onto [-1, 1]^d)
    h = act(lift(z))
    h = h + act(block_i(h))               (i = 1 .. blocks)
    u = head(h)

The network factory contract is ``factory(params, in_dim, out_dim, bounds) -> torch.nn.Module``:
``in_dim`` is the problem's number of coordinates, ``out_dim`` its number of outputs and
``bounds`` the ``(lower, upper)`` bounding box of its domain (or None) for input normalisation.

Keep the module a plain ``torch.nn.Module`` of a module-level class that stores only tensors,
modules and plain values (the activation by name): then it deep-copies, pickles (``ddp_spawn``),
moves to a device and casts to float64 like the built-in networks. Use a smooth activation: a
PINN differentiates the network twice or more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from deepinn import ConfigurationError

__all__ = ["ACTIVATIONS", "ResMLP", "ResMLPParams", "build_resmlp"]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "sin": torch.sin,
    "silu": torch.nn.functional.silu,
    "gelu": torch.nn.functional.gelu,
}


class ResMLP(torch.nn.Module):
    """A residual MLP ``in_dim -> width -> (blocks residual layers) -> out_dim``.

    Args:
        in_dim: Input coordinates.
        out_dim: Outputs.
        width: Hidden width.
        blocks: Residual blocks (0 is a one-hidden-layer network).
        activation: One of ``ACTIVATIONS``.
        bounds: ``(lower, upper)`` of the inputs, mapped onto [-1, 1]; None: no normalisation.
    """

    scale: torch.Tensor
    shift: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 32,
        blocks: int = 3,
        activation: str = "tanh",
        bounds: Any = None,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigurationError(
                f"example_resmlp: activation={activation!r}; choose one of {sorted(ACTIVATIONS)}."
            )
        self.activation = activation
        self.lift = torch.nn.Linear(in_dim, width)
        self.blocks = torch.nn.ModuleList(torch.nn.Linear(width, width) for _ in range(blocks))
        self.head = torch.nn.Linear(width, out_dim)
        for layer in [self.lift, *self.blocks, self.head]:
            torch.nn.init.xavier_normal_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        scale, shift = torch.ones(in_dim), torch.zeros(in_dim)
        if bounds is not None:
            lower, upper = (torch.as_tensor(b, dtype=torch.float64).reshape(-1) for b in bounds)
            if (
                lower.shape != (in_dim,)
                or upper.shape != (in_dim,)
                or not bool((upper > lower).all())
            ):
                raise ConfigurationError(
                    f"example_resmlp: bounds {lower.tolist()}, {upper.tolist()} must be "
                    f"{in_dim} numbers each with upper > lower."
                )
            scale = (2.0 / (upper - lower)).to(scale)
            shift = (-(upper + lower) / (upper - lower)).to(shift)
        # Buffers, not parameters: saved in checkpoints and cast with .to(dtype), never trained.
        self.register_buffer("scale", scale)
        self.register_buffer("shift", shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = ACTIVATIONS[self.activation]
        h = act(self.lift(x * self.scale + self.shift))
        for block in self.blocks:
            h = h + act(block(h))
        return self.head(h)


@dataclass
class ResMLPParams:
    """Parameters of ``net=example_resmlp``.

    For example ``deepinn train net=example_resmlp net.width=64 net.blocks=4``.

    Attributes:
        width: Hidden width, >= 1.
        blocks: Number of residual blocks, >= 0.
        activation: ``tanh``, ``sin``, ``silu`` or ``gelu``.
        normalise: Map the domain's bounding box onto [-1, 1] before the first layer.
    """

    width: int = 32
    blocks: int = 3
    activation: str = "tanh"
    normalise: bool = True

    def __post_init__(self) -> None:
        if self.width < 1 or self.blocks < 0:
            raise ConfigurationError(
                f"example_resmlp: width={self.width}, blocks={self.blocks}; use width >= 1, "
                "blocks >= 0."
            )
        if self.activation not in ACTIVATIONS:
            raise ConfigurationError(
                f"example_resmlp: activation={self.activation!r}; choose one of "
                f"{sorted(ACTIVATIONS)}."
            )


def build_resmlp(params: ResMLPParams, in_dim: int, out_dim: int, bounds: Any = None) -> ResMLP:
    """The network factory: ``factory(params, in_dim, out_dim, bounds) -> torch.nn.Module``."""
    return ResMLP(
        in_dim,
        out_dim,
        params.width,
        params.blocks,
        params.activation,
        bounds if params.normalise else None,
    )
