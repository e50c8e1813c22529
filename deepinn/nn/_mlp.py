"""The fully connected network (multilayer perceptron), the default PINN network."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from deepinn._errors import ConfigurationError
from deepinn.nn import _forward_laplacian as fl
from deepinn.nn import _tanh_jet
from deepinn.nn._activations import AbstractActivation, get_activation
from deepinn.nn._base import AbstractLaneNetwork, as_points, check_last_dim
from deepinn.nn._bounds import Bounds, fold_normalisation, normalisation_affine
from deepinn.nn._init import get_initialiser
from deepinn.nn._rwf import dense, factorise_layers

__all__ = ["FullyConnected", "check_layer_size", "to_input_tensor"]


def check_layer_size(layer_size: Any, what: str = "layer_size") -> list[int]:
    """Validate a list of layer widths ``[in_dim, hidden..., out_dim]``.

    Raises:
        ConfigurationError: Fewer than two entries, or an entry that is not a positive int.
    """
    if isinstance(layer_size, (str, bytes)) or not isinstance(layer_size, Sequence):
        raise ConfigurationError(
            f"{what} must be a list of layer widths such as [2, 50, 50, 1] (input dim, hidden "
            f"widths, output dim), got {layer_size!r}."
        )
    sizes = list(layer_size)
    if len(sizes) < 2:
        raise ConfigurationError(
            f"{what} must name at least the input and output dimensions, got {sizes!r}; use "
            "e.g. [2, 50, 50, 1]."
        )
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(
                f"{what} {sizes!r} has the entry {size!r}; every width must be a positive int."
            )
    return sizes


to_input_tensor = as_points
"""Accept deepinn Points (anything with ``as_tensor``) as well as tensors."""


class FullyConnected(AbstractLaneNetwork):
    """A multilayer perceptron ``in_dim -> hidden... -> out_dim`` with a smooth activation.

    The activation follows every hidden layer, never the output layer. With ``bounds`` the input
    is first mapped affinely from the bounding box onto [-1, 1]^d; the map is computed once, kept
    as the buffers ``input_scale``/``input_shift`` (saved in checkpoints) and folded into the
    first layer's weights at each call, so no per-point normalisation is allocated.

    Example:
        >>> net = FullyConnected([2, 50, 50, 1], activation="tanh", bounds=([0, 0], [1, 2]))
        >>> net(torch.rand(10, 2)).shape
        torch.Size([10, 1])

    Args:
        layer_size: ``[in_dim, hidden widths..., out_dim]``, e.g. ``[2, 50, 50, 1]``.
        activation: ``tanh``, ``sin``, ``silu``, ``gelu``, ``relu`` or ``sigmoid``
            (case-insensitive).
        initialiser: ``xavier_normal``, ``xavier_uniform``, ``kaiming_normal`` or
            ``kaiming_uniform`` (also ``"Glorot normal"``, ``"He uniform"``, ...); biases are 0.
        bounds: ``(lower, upper)`` corners of the input domain's bounding box, or None.
        rwf: ``(mean, std)``: factorise every dense layer's weight as ``diag(exp(s)) V`` with
            ``s ~ N(mean, std^2)`` (random weight factorisation, see ``_rwf``), or None.
        generator: Draws the factorisation's log-scales (default: torch's global generator).
        dtype: The parameters' dtype (default: torch's default dtype).
        device: The parameters' device.

    Raises:
        ConfigurationError: A bad width, activation, initialiser, rwf or degenerate bounds.
        ShapeError: Bounds that do not have ``in_dim`` coordinates.
    """

    def __init__(
        self,
        layer_size: Sequence[int],
        activation: str | AbstractActivation = "tanh",
        initialiser: str = "xavier_normal",
        bounds: Bounds | None = None,
        *,
        rwf: tuple[float, float] | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        sizes = check_layer_size(layer_size)
        self._activation = get_activation(activation)
        self.initialiser, init_ = get_initialiser(initialiser)
        self.layer_size: tuple[int, ...] = tuple(sizes)
        self.in_dim = sizes[0]
        self.out_dim = sizes[-1]
        self.linears = torch.nn.ModuleList(
            torch.nn.Linear(a, b, dtype=dtype, device=device) for a, b in itertools.pairwise(sizes)
        )
        with torch.no_grad():
            for layer in dense(self.linears):
                init_(layer.weight)
                layer.bias.zero_()
        factorise_layers(self.linears, rwf, generator)
        self.rwf = rwf
        self.input_scale: torch.Tensor | None
        self.input_shift: torch.Tensor | None
        if bounds is None:
            self.register_buffer("input_scale", None)
            self.register_buffer("input_shift", None)
        else:
            scale, shift = normalisation_affine(bounds, self.in_dim)
            weight = dense(self.linears)[0].weight
            self.register_buffer("input_scale", scale.to(weight.dtype).to(weight.device))
            self.register_buffer("input_shift", shift.to(weight.dtype).to(weight.device))

    @property
    def activation(self) -> str:
        """The activation's canonical name."""
        return self._activation.name

    def first_layer(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The first layer's weight and bias with the input normalisation folded in.

        ``W (s * x + c) + b = (W * s) x + (W c + b)``.
        """
        first = dense(self.linears)[0]
        return fold_normalisation(first.weight, first.bias, self.input_scale, self.input_shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the network.

        Args:
            x: ``(N, in_dim)`` points (or ``(in_dim,)`` for one point, or deepinn Points).

        Returns:
            ``(N, out_dim)`` (or ``(out_dim,)``).

        Raises:
            ShapeError: The last dimension of ``x`` is not ``in_dim``.
        """
        x = as_points(x, self.in_dim)
        weight, bias = self.first_layer()
        check_last_dim(x, self.in_dim, weight.dtype)
        h = F.linear(x, weight, bias)
        act = self._activation
        layers = iter(dense(self.linears))  # slicing a ModuleList would build a new module per call
        next(layers)
        for layer in layers:
            h = F.linear(act(h), layer.weight, layer.bias)
        return h

    def forward_lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        """Propagate forward-mode lanes through the network (see ``forward_derivatives``).

        Works from any input lanes (an embedding's output as well as the raw input). A tanh
        network started from the raw input's lanes runs them fused in one autograd node
        (``_tanh_jet``), with the same results.

        Args:
            lanes: The lanes of the network's input (input normalisation is applied here).
            marked: The coordinates whose second derivatives are carried.

        Returns:
            The lanes of the output.
        """
        weight, bias = self.first_layer()
        act = self._activation
        if _tanh_jet.applies(act, lanes, marked, len(self.linears)):
            parameters = [weight, bias]
            rest = iter(dense(self.linears))
            next(rest)
            for layer in rest:
                parameters += [layer.weight, layer.bias]
            return _tanh_jet.tanh_jet(lanes.value, marked, parameters)
        lanes = fl.linear_lanes(lanes, weight, bias)
        layers = iter(dense(self.linears))
        next(layers)
        for layer in layers:
            lanes = fl.activation_lanes(lanes, act, marked)
            lanes = fl.linear_lanes(lanes, layer.weight, layer.bias)
        return lanes

    def extra_repr(self) -> str:
        return (
            f"layer_size={list(self.layer_size)}, activation={self.activation!r}, "
            f"initialiser={self.initialiser!r}, normalised={self.input_scale is not None}"
            + ("" if self.rwf is None else f", rwf={self.rwf}")
        )
