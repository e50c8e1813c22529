"""Random Fourier features followed by an MLP (Tancik et al. 2020; Wang, Wang & Perdikaris 2021).

The input (normalised to [-1, 1]^d when bounds are given) is mapped to
``[cos(2 pi B x), sin(2 pi B x)]`` with a fixed random matrix ``B ~ N(0, sigma^2)`` of shape
``(n_features, d)``, which lets the MLP fit high frequencies that plain MLPs learn slowly
(spectral bias). ``B`` is a buffer: saved in checkpoints, never trained. The features are those
of :class:`deepinn.nn._embeddings.FourierEmbedding` (the same code); ``net=mlp
net.fourier_features=N`` combines them with the other network options.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from deepinn.nn import _forward_laplacian as fl
from deepinn.nn._activations import AbstractActivation
from deepinn.nn._base import AbstractLaneNetwork, as_points, check_last_dim
from deepinn.nn._bounds import Bounds
from deepinn.nn._embeddings import check_fourier, fourier_matrix, sincos_lanes
from deepinn.nn._mlp import FullyConnected, check_layer_size
from deepinn.nn._rwf import dense

__all__ = ["FourierFeatureNet"]


class FourierFeatureNet(AbstractLaneNetwork):
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
        check_fourier(n_features, sigma, ("n_features", "sigma"))
        self.in_dim = sizes[0]
        self.out_dim = sizes[-1]
        self.n_features = n_features
        self.sigma = float(sigma)
        self.body = FullyConnected(
            [2 * n_features, *sizes[1:]], activation, initialiser, dtype=dtype, device=device
        )
        weight, bias = fourier_matrix(n_features, sigma, self.in_dim, bounds, generator)
        like = dense(self.body.linears)[0].weight
        # z = 2 pi B (scale x + shift), folded: weight = 2 pi B diag(scale), bias = 2 pi B shift
        self.feature_weight: torch.Tensor
        self.feature_bias: torch.Tensor
        self.register_buffer("feature_weight", weight.to(like.dtype).to(like.device))
        self.register_buffer("feature_bias", bias.to(like.dtype).to(like.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the network on ``(N, in_dim)`` (or ``(in_dim,)``) points.

        Raises:
            ShapeError: The last dimension of ``x`` is not ``in_dim``.
        """
        x = as_points(x, self.in_dim)
        check_last_dim(x, self.in_dim, self.feature_weight.dtype)
        z = F.linear(x, self.feature_weight, self.feature_bias)
        return self.body(torch.cat([torch.cos(z), torch.sin(z)], dim=-1))

    def forward_lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        """Propagate forward-mode lanes: the features (exact, ``sincos_lanes``), then the MLP."""
        z = fl.linear_lanes(lanes, self.feature_weight, self.feature_bias)
        return self.body.forward_lanes(sincos_lanes(z, marked), marked)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, n_features={self.n_features}, sigma={self.sigma}"
