"""PirateNet: residual adaptive networks (Wang, Sankaran, Wang & Perdikaris 2024).

With ``Phi(x)`` the random Fourier features of the input (after an optional exact periodic
embedding) and ``phi`` the activation::

    U = phi(Phi W_u + b_u),  V = phi(Phi W_v + b_v),  x_1 = Phi,
    f = phi(x_l W_1 + b_1),  z_1 = f U + (1 - f) V,
    g = phi(z_1 W_2 + b_2),  z_2 = g U + (1 - g) V,
    h = phi(z_2 W_3 + b_3),  x_{l+1} = alpha_l h + (1 - alpha_l) x_l     (l = 1..blocks),
    u = x_{L+1} W_out + b_out.

Each ``alpha_l`` is a trainable scalar that starts at 0, so at initialisation every block is the
identity and the network is the linear map ``u = Phi(x) W_out + b_out`` of its embedding: the
depth is switched on gradually by training. Because of that, the last layer can be fitted to
data before training (*physics-informed initialisation*): :meth:`PirateNet.fit_output_layer`
solves the least-squares problem ``Phi(x_i) W_out + b_out = u_i`` on the initial/boundary data
(the training service does so for a fresh run, see
:func:`deepinn.training.toolbox.physics_informed_init`).

Every stage is linear, elementwise or a gate (a product), so the forward-mode lanes are exact
and the forward-Laplacian fast path applies; the residual mix is linear in both branches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch
import torch.nn.functional as F

from deepinn._errors import ConfigurationError
from deepinn.nn import _forward_laplacian as fl
from deepinn.nn._activations import AbstractActivation, get_activation
from deepinn.nn._base import AbstractLaneNetwork
from deepinn.nn._bounds import Bounds
from deepinn.nn._embeddings import AbstractEmbedding, FourierEmbedding, PeriodicEmbedding
from deepinn.nn._init import get_initialiser
from deepinn.nn._modified import gate_lanes
from deepinn.nn._network import EmbeddedNetwork
from deepinn.nn._rwf import DenseLayer, dense, factorise_layers

__all__ = ["PirateBody", "PirateNet", "mix_lanes"]


def mix_lanes(h: fl.Lanes, x: fl.Lanes, alpha: torch.Tensor) -> fl.Lanes:
    """Lanes of ``alpha h + (1 - alpha) x`` (linear in both: each lane mixes alike)."""
    beta = 1.0 - alpha
    value = alpha * h.value + beta * x.value
    grad = alpha * h.grad + beta * x.grad
    parts = [w * d for w, d in ((alpha, h.diag), (beta, x.diag)) if d is not None]
    diag = None if not parts else parts[0] if len(parts) == 1 else parts[0] + parts[1]
    return fl.Lanes(value, grad, diag)


class PirateBody(AbstractLaneNetwork):
    """The gated residual blocks and the output layer (the part after the embedding).

    Args:
        width: The embedding's width, which every block keeps.
        blocks: The number of residual blocks (three dense layers each).
        out_dim: The number of outputs.
        activation: The activation ``phi``.
        initialiser: The weight initialiser (biases 0), the output layer's too until it is
            fitted (:meth:`PirateNet.fit_output_layer`).
        rwf: ``(mean, std)`` to factorise the gates and the blocks' layers (not the output
            layer, which the physics-informed initialisation fits), or None.
        dtype: The parameters' dtype.
    """

    def __init__(
        self,
        width: int,
        blocks: int,
        out_dim: int,
        activation: str | AbstractActivation = "tanh",
        initialiser: str = "xavier_normal",
        *,
        rwf: tuple[float, float] | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self._activation = get_activation(activation)
        self.initialiser, init_ = get_initialiser(initialiser)
        self.in_dim, self.width, self.blocks, self.out_dim = width, width, blocks, out_dim
        self.gates = torch.nn.ModuleList(
            torch.nn.Linear(width, width, dtype=dtype) for _ in range(2)
        )
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(width, width, dtype=dtype) for _ in range(3 * blocks)
        )
        self.output = torch.nn.ModuleList([torch.nn.Linear(width, out_dim, dtype=dtype)])
        self.alpha = torch.nn.Parameter(torch.zeros(blocks, dtype=dtype))
        with torch.no_grad():
            for layer in (*dense(self.gates), *dense(self.layers), *dense(self.output)):
                init_(layer.weight)
                layer.bias.zero_()
        factorise_layers(self.gates, rwf, None)
        factorise_layers(self.layers, rwf, None)
        self.rwf = rwf

    @property
    def activation(self) -> str:
        """The activation's canonical name."""
        return self._activation.name

    @property
    def last(self) -> DenseLayer:
        """The output layer."""
        return dense(self.output)[0]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``x_{L+1}``, the input of the output layer, from the embedding ``x`` (N, width)."""
        act = self._activation
        gates, layers = dense(self.gates), dense(self.layers)
        u = act(F.linear(x, gates[0].weight, gates[0].bias))
        v = act(F.linear(x, gates[1].weight, gates[1].bias))
        diff = u - v
        for block in range(self.blocks):
            first, second, third = layers[3 * block : 3 * block + 3]
            f = act(F.linear(x, first.weight, first.bias))
            g = act(F.linear(torch.addcmul(v, f, diff), second.weight, second.bias))
            h = act(F.linear(torch.addcmul(v, g, diff), third.weight, third.bias))
            alpha = self.alpha[block]
            x = alpha * h + (1.0 - alpha) * x
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate on ``(N, width)`` embedded points."""
        last = self.last
        return F.linear(self.features(x), last.weight, last.bias)

    def forward_lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        """Propagate forward-mode lanes (from the embedding's lanes) to the output."""
        act = self._activation
        gates, layers = dense(self.gates), dense(self.layers)
        u, v = (
            fl.activation_lanes(fl.linear_lanes(lanes, gate.weight, gate.bias), act, marked)
            for gate in gates
        )
        x = lanes
        for block in range(self.blocks):
            first, second, third = layers[3 * block : 3 * block + 3]
            f = fl.activation_lanes(fl.linear_lanes(x, first.weight, first.bias), act, marked)
            z = gate_lanes(v, u, f, marked)
            g = fl.activation_lanes(fl.linear_lanes(z, second.weight, second.bias), act, marked)
            z = gate_lanes(v, u, g, marked)
            h = fl.activation_lanes(fl.linear_lanes(z, third.weight, third.bias), act, marked)
            x = mix_lanes(h, x, self.alpha[block])
        last = self.last
        return fl.linear_lanes(x, last.weight, last.bias)

    def extra_repr(self) -> str:
        return (
            f"width={self.width}, blocks={self.blocks}, out_dim={self.out_dim}, "
            f"activation={self.activation!r}" + ("" if self.rwf is None else f", rwf={self.rwf}")
        )


class PirateNet(EmbeddedNetwork):
    """A PirateNet ``in_dim -> out_dim`` (see the module doc).

    Args:
        in_dim: The number of input coordinates.
        out_dim: The number of outputs.
        width: The width of the embedding and of every block (even: the Fourier features are
            ``width / 2`` cosines and as many sines).
        blocks: The number of residual blocks.
        fourier_scale: The standard deviation ``sigma`` of the Fourier frequencies.
        activation: The blocks' activation.
        initialiser: The blocks' weight initialiser.
        bounds: ``(lower, upper)`` of the input box, normalised onto [-1, 1]^d, or None.
        periodic: Column -> period of an exact periodic embedding before the features.
        periodic_modes: Harmonics per periodic coordinate.
        rwf: ``(mean, std)`` of random weight factorisation of the blocks' layers, or None.
        physics_init: Fit the output layer to the problem's initial/boundary data when a
            fresh run starts (:func:`deepinn.training.toolbox.physics_informed_init`).
        generator: Draws the Fourier frequencies.
        dtype: The parameters' dtype.

    Raises:
        ConfigurationError: An odd or non-positive width, fewer than one block.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        width: int = 256,
        blocks: int = 3,
        fourier_scale: float = 1.0,
        activation: str = "tanh",
        initialiser: str = "xavier_normal",
        bounds: Bounds | None = None,
        *,
        periodic: Mapping[int, float] | None = None,
        periodic_modes: int = 1,
        rwf: tuple[float, float] | None = None,
        physics_init: bool = True,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_pirate_shape(width, blocks)
        stages: list[AbstractEmbedding] = []
        features_in, features_bounds = in_dim, bounds
        if periodic:
            stages.append(PeriodicEmbedding(in_dim, periodic, periodic_modes, bounds, dtype=dtype))
            features_in, features_bounds = stages[-1].out_dim, None
        stages.append(
            FourierEmbedding(
                features_in, width // 2, fourier_scale, features_bounds,
                generator=generator, dtype=dtype,
            )
        )
        body = PirateBody(width, blocks, out_dim, activation, initialiser, rwf=rwf, dtype=dtype)
        super().__init__(stages, body)
        self.physics_init = physics_init

    @property
    def pirate(self) -> PirateBody:
        """The blocks and the output layer."""
        return cast("PirateBody", self.body)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The output layer's input at points ``x`` (N, in_dim): the embedding while every
        ``alpha`` is 0."""
        h = x
        for stage in self.embeddings:
            h = stage(h)
        return self.pirate.features(h)

    def fit_output_layer(
        self, points: Sequence[torch.Tensor], values: Sequence[torch.Tensor | None]
    ) -> list[int]:
        """Fit the output layer by least squares: ``features(points[j]) W_j + b_j = values[j]``
        for each output ``j`` with data (``values[j]`` None: that output keeps its weights).

        The solve is in float64 on the CPU, minimum-norm where the data do not determine the
        weights (fewer points than features).

        Returns:
            The outputs that were fitted.

        Raises:
            ConfigurationError: ``points`` and ``values`` do not give one entry per output.
        """
        if len(points) != self.pirate.out_dim or len(values) != self.pirate.out_dim:
            raise ConfigurationError(
                f"fit_output_layer: give one entry per output ({self.pirate.out_dim}), got "
                f"{len(points)} point sets and {len(values)} value sets."
            )
        last = self.pirate.last
        like = last.weight
        fitted: list[int] = []
        with torch.no_grad():
            for column, (x, u) in enumerate(zip(points, values, strict=True)):
                if u is None or len(x) == 0:
                    continue
                phi = self.features(x.to(like)).to("cpu", torch.float64)
                design = torch.cat([phi, torch.ones(len(phi), 1, dtype=torch.float64)], dim=1)
                target = u.to("cpu", torch.float64).reshape(-1, 1)
                solution = torch.linalg.lstsq(design, target, driver="gelsd").solution[:, 0]
                weight, bias = solution[:-1].to(like), solution[-1:].to(like)
                _set_output_row(last, column, weight, bias)
                fitted.append(column)
        return fitted


def _set_output_row(
    layer: DenseLayer, column: int, weight: torch.Tensor, bias: torch.Tensor
) -> None:
    """Set row ``column`` of the (never factorised) output layer."""
    layer.weight[column] = weight
    layer.bias[column] = bias[0]


def check_pirate_shape(width: object, blocks: object) -> None:
    """Fail unless ``width`` is an even int >= 2 and ``blocks`` an int >= 1.

    Raises:
        ConfigurationError: Naming the key and the fix.
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 2 or width % 2:
        raise ConfigurationError(
            f"net.width={width!r}: the PirateNet width must be an even int >= 2 (its Fourier "
            "embedding is width/2 cosines and width/2 sines), e.g. net.width=256."
        )
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
        raise ConfigurationError(
            f"net.blocks={blocks!r}: it must be an int >= 1 (residual blocks), e.g. "
            "net.blocks=3."
        )
