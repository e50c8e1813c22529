"""The modified (gated) MLP of Wang, Teng & Perdikaris (2021), with its forward lanes.

With ``X`` the input and ``phi`` the activation::

    U = phi(X W_u + b_u),  V = phi(X W_v + b_v),  H_1 = phi(X W_1 + b_1),
    Z_k = phi(H_k W_{k+1} + b_{k+1}),  H_{k+1} = (1 - Z_k) U + Z_k V   (k = 1..n-1),
    u = H_n W_out + b_out,

for ``n`` hidden layers of one width. The gate ``H = U + Z (V - U)`` is a product, so its lanes
follow the product rule::

    grad H = grad U + grad Z (V - U) + Z (grad V - grad U)
    d2 H   = d2 U + d2 Z (V - U) + 2 grad_i Z (grad_i V - grad_i U) + Z (d2 V - d2 U)

(in Laplacian mode the middle term is summed over the marked coordinates).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

from deepinn._errors import ConfigurationError
from deepinn.nn import _forward_laplacian as fl
from deepinn.nn._activations import AbstractActivation, get_activation
from deepinn.nn._base import AbstractLaneNetwork, as_points, check_last_dim
from deepinn.nn._bounds import Bounds, fold_normalisation, normalisation_affine
from deepinn.nn._init import get_initialiser
from deepinn.nn._mlp import check_layer_size
from deepinn.nn._rwf import DenseLayer, dense, factorise_layers

__all__ = ["ModifiedMLP", "gate_lanes"]


def gate_lanes(u: fl.Lanes, v: fl.Lanes, z: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
    """Lanes of ``H = U + Z (V - U)`` (``= (1 - Z) U + Z V``) by the product rule."""
    diff = v.value - u.value
    value = torch.addcmul(u.value, z.value, diff)
    grad_diff = v.grad - u.grad
    grad = u.grad + z.grad * diff + z.value * grad_diff
    diag = None
    if marked.count and u.diag is not None and v.diag is not None and z.diag is not None:
        cross = marked.select(z.grad) * marked.select(grad_diff)
        if marked.summed and marked.count > 1:
            cross = cross.sum(dim=0, keepdim=True)
        diag = u.diag + z.diag * diff + 2.0 * cross + z.value * (v.diag - u.diag)
    return fl.Lanes(value, grad, diag)


class ModifiedMLP(AbstractLaneNetwork):
    """The modified MLP ``[in_dim, h, ..., h, out_dim]`` (see the module doc).

    Args:
        layer_size: ``[in_dim, h (n >= 2 times), out_dim]``; every hidden width equal.
        activation: The activation ``phi`` (see :class:`FullyConnected`).
        initialiser: The weight initialiser; biases are 0.
        bounds: ``(lower, upper)`` of the input box, normalised onto [-1, 1]^d (folded into the
            three input layers), or None.
        rwf: ``(mean, std)`` to factorise every dense layer (see ``_rwf``), or None.
        generator: Draws the factorisation's log-scales.
        dtype: The parameters' dtype.
        device: The parameters' device.

    Raises:
        ConfigurationError: Unequal hidden widths or fewer than two hidden layers.
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
        hidden = sizes[1:-1]
        if len(hidden) < 2 or len(set(hidden)) != 1:
            raise ConfigurationError(
                f"net.architecture=modified: hidden={hidden} must hold at least two equal widths "
                "(U, V and every gated layer share one width); use e.g. net.hidden=[64,64,64,64]."
            )
        self._activation = get_activation(activation)
        self.initialiser, init_ = get_initialiser(initialiser)
        self.layer_size: tuple[int, ...] = tuple(sizes)
        self.in_dim, self.out_dim = sizes[0], sizes[-1]
        self.encoders = torch.nn.ModuleList(
            torch.nn.Linear(sizes[0], hidden[0], dtype=dtype, device=device) for _ in range(2)
        )
        self.linears = torch.nn.ModuleList(
            torch.nn.Linear(a, b, dtype=dtype, device=device)
            for a, b in itertools.pairwise(sizes)
        )
        with torch.no_grad():
            for layer in itertools.chain(dense(self.encoders), dense(self.linears)):
                init_(layer.weight)
                layer.bias.zero_()
        factorise_layers(self.encoders, rwf, generator)
        factorise_layers(self.linears, rwf, generator)
        self.rwf = rwf
        self.input_scale: torch.Tensor | None
        self.input_shift: torch.Tensor | None
        scale = shift = None
        if bounds is not None:
            like = dense(self.linears)[0].weight
            scale, shift = (
                t.to(like.dtype).to(like.device) for t in normalisation_affine(bounds, self.in_dim)
            )
        self.register_buffer("input_scale", scale)
        self.register_buffer("input_shift", shift)

    @property
    def activation(self) -> str:
        """The activation's canonical name."""
        return self._activation.name

    def _input_layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(W, b)`` of U, V and H_1 with the input normalisation folded in."""
        encoders, linears = dense(self.encoders), dense(self.linears)
        layers = (encoders[0], encoders[1], linears[0])
        return [
            fold_normalisation(layer.weight, layer.bias, self.input_scale, self.input_shift)
            for layer in layers
        ]

    def _gates(self) -> Iterator[DenseLayer]:
        """The gated layers W_2..W_n (no ModuleList slice: that builds a module per call)."""
        return itertools.islice(dense(self.linears), 1, len(self.linears) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate on ``(N, in_dim)`` (or ``(in_dim,)``) points."""
        x = as_points(x, self.in_dim)
        (wu, bu), (wv, bv), (w1, b1) = self._input_layers()
        check_last_dim(x, self.in_dim, wu.dtype)
        act = self._activation
        u, v, h = act(F.linear(x, wu, bu)), act(F.linear(x, wv, bv)), act(F.linear(x, w1, b1))
        diff = v - u
        for layer in self._gates():
            z = act(F.linear(h, layer.weight, layer.bias))
            h = torch.addcmul(u, z, diff)
        last = dense(self.linears)[-1]
        return F.linear(h, last.weight, last.bias)

    def forward_lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        """Propagate forward-mode lanes (from any input lanes) to the output."""
        act = self._activation
        u, v, h = (
            fl.activation_lanes(fl.linear_lanes(lanes, w, b), act, marked)
            for w, b in self._input_layers()
        )
        for layer in self._gates():
            z = fl.activation_lanes(fl.linear_lanes(h, layer.weight, layer.bias), act, marked)
            h = gate_lanes(u, v, z, marked)
        last = dense(self.linears)[-1]
        return fl.linear_lanes(h, last.weight, last.bias)

    def extra_repr(self) -> str:
        return (
            f"layer_size={list(self.layer_size)}, activation={self.activation!r}, gated=True, "
            f"normalised={self.input_scale is not None}"
            + ("" if self.rwf is None else f", rwf={self.rwf}")
        )
