"""Random Fourier features followed by an MLP (Tancik et al. 2020; Wang, Wang & Perdikaris 2021).

The input (normalised to [-1, 1]^d when bounds are given) is mapped to
``[cos(2 pi B x), sin(2 pi B x)]`` with a fixed random matrix ``B ~ N(0, sigma^2)`` of shape
``(n_features, d)``, which lets the MLP fit high frequencies that plain MLPs learn slowly
(spectral bias). ``B`` is a buffer: saved in checkpoints, never trained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from deepinn._errors import ConfigurationError, ShapeError
from deepinn.nn import _forward_laplacian as fl
from deepinn.nn._activations import AbstractActivation
from deepinn.nn._bounds import Bounds, normalisation_affine
from deepinn.nn._mlp import FullyConnected, check_layer_size, to_input_tensor

__all__ = ["FourierFeatureNet"]


def _feature_lanes(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, marked: fl.Marked
) -> fl.Lanes:
    """Lanes of ``[cos z, sin z]`` with ``z = weight x + bias`` (a constant linear map)."""
    z = F.linear(x, weight, bias)
    cos, sin = torch.cos(z), torch.sin(z)
    grad_z = weight.t().unsqueeze(1)  # (d, 1, F): the same for every point
    value = torch.cat([cos, sin], dim=-1)
    grad = torch.cat([-sin * grad_z, cos * grad_z], dim=-1)
    diag = None
    if marked.count:
        square = marked.select(grad_z) ** 2
        if marked.summed:
            square = square.sum(dim=0, keepdim=True)
        diag = torch.cat([-cos * square, -sin * square], dim=-1)
    return fl.Lanes(value, grad, diag)


class FourierFeatureNet(torch.nn.Module):
    """Random Fourier features ``[cos(2 pi B x), sin(2 pi B x)]`` followed by an MLP.

    Args:
        layer_size: ``[in_dim, hidden widths..., out_dim]`` as for :class:`FullyConnected`; the
            MLP after the features has input width ``2 * n_features``.
        n_features: The number of random frequencies (rows of ``B``).
        sigma: Standard deviation of the frequencies, in cycles per unit of the (normalised)
            input; larger values fit finer detail.
        activation: The MLP's activation (see :class:`FullyConnected`).
        initialiser: The MLP's weight initialiser (see :class:`FullyConnected`).
        bounds: ``(lower, upper)`` bounding box for input normalisation to [-1, 1]^d, or None.
        generator: Draws ``B`` (default: torch's global generator, like weight initialisation).
        dtype: The parameters' dtype.
        device: The parameters' device.

    Raises:
        ConfigurationError: A bad width, ``n_features``, ``sigma``, activation, initialiser or
            bounds.
    """

    def __init__(
        self,
        layer_size: Sequence[int],
        n_features: int = 64,
        sigma: float = 1.0,
        activation: str | AbstractActivation = "tanh",
        initialiser: str = "xavier_normal",
        bounds: Bounds | None = None,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        sizes = check_layer_size(layer_size)
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ConfigurationError(
                f"n_features={n_features!r}; it must be a positive int (e.g. 64)."
            )
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
            raise ConfigurationError(
                f"sigma={sigma!r}; the frequency scale must be a positive number (e.g. 1.0)."
            )
        if not math.isfinite(sigma):
            raise ConfigurationError(f"sigma={sigma!r}; it must be finite.")
        self.in_dim = sizes[0]
        self.out_dim = sizes[-1]
        self.n_features = n_features
        self.sigma = float(sigma)
        self.body = FullyConnected(
            [2 * n_features, *sizes[1:]], activation, initialiser, dtype=dtype, device=device
        )
        frequencies = torch.randn(
            (n_features, self.in_dim), generator=generator, dtype=torch.float64
        )
        weight = 2.0 * math.pi * self.sigma * frequencies
        bias = torch.zeros(n_features, dtype=torch.float64)
        if bounds is not None:
            scale, shift = normalisation_affine(bounds, self.in_dim)
            weight, bias = weight * scale, weight @ shift
        like = self.body.linears[0].weight
        # z = 2 pi B (scale * x + shift), folded once: weight = 2 pi B diag(scale), bias = 2 pi B shift
        self.register_buffer("feature_weight", weight.to(like.dtype).to(like.device))
        self.register_buffer("feature_bias", bias.to(like.dtype).to(like.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the network on ``(N, in_dim)`` (or ``(in_dim,)``) points.

        Raises:
            ShapeError: The last dimension of ``x`` is not ``in_dim``.
        """
        if not isinstance(x, torch.Tensor):
            x = to_input_tensor(x, self.in_dim)
        if x.dim() == 0 or x.shape[-1] != self.in_dim:
            raise ShapeError(
                f"The network expects inputs of shape (N, {self.in_dim}) or ({self.in_dim},), "
                f"got {tuple(x.shape)}; the last dimension must be in_dim={self.in_dim}."
            )
        z = F.linear(x, self.feature_weight, self.feature_bias)
        return self.body(torch.cat([torch.cos(z), torch.sin(z)], dim=-1))

    def forward_derivatives(
        self, x: torch.Tensor, second: fl.Second = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Value, gradient and Hessian diagonal in one forward pass.

        Same contract as :meth:`FullyConnected.forward_derivatives`.
        """
        x = self._check_points(x)
        marked = fl.marked_coordinates(second, self.in_dim)
        lanes = _feature_lanes(x, self.feature_weight, self.feature_bias, marked)
        return fl.output_derivatives(self.body.forward_lanes(lanes, marked), marked)

    def forward_laplacian(
        self, x: torch.Tensor, second: fl.Second = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Value, gradient and Laplacian in one forward pass.

        Same contract as :meth:`FullyConnected.forward_laplacian`.
        """
        x = self._check_points(x)
        marked = fl.marked_coordinates(second, self.in_dim, summed=True)
        lanes = _feature_lanes(x, self.feature_weight, self.feature_bias, marked)
        return fl.output_laplacian(self.body.forward_lanes(lanes, marked), marked)

    def _check_points(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = to_input_tensor(x, self.in_dim)
        fl.check_input(x, self.in_dim)
        return x

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, n_features={self.n_features}, sigma={self.sigma}"
