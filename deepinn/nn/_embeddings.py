"""Input embeddings: random Fourier features and exact periodic embeddings.

Both are ``[cos z, sin z]`` of a constant linear map ``z = B h + c`` of their input, so their
forward-mode lanes are exact and cheap (:func:`sincos_lanes`):

    grad cos z = -sin z grad z,   d2 cos z = -cos z (grad_i z)^2 - sin z d2 z   (and sin alike).

- :class:`FourierEmbedding` (Tancik et al. 2020; Wang, Wang & Perdikaris 2021):
  ``B = 2 pi sigma G``, ``G ~ N(0, 1)`` fixed (a buffer), with the input normalisation folded in.
- :class:`PeriodicEmbedding` (Dong & Ni 2021): each periodic coordinate ``x_i`` of period ``P_i``
  becomes ``cos(2 pi k x_i / P_i), sin(2 pi k x_i / P_i)`` for ``k = 1..modes``; the other
  coordinates pass through (normalised to [-1, 1] when bounds are given). Whatever follows is
  then exactly ``P_i``-periodic in ``x_i``, with all its derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from deepinn._errors import ConfigurationError
from deepinn.nn import _forward_laplacian as fl
from deepinn.nn._bounds import Bounds, normalisation_affine

__all__ = [
    "AbstractEmbedding",
    "FourierEmbedding",
    "PeriodicEmbedding",
    "check_fourier",
    "fourier_matrix",
    "sincos_lanes",
]


def sincos_lanes(z: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
    """Lanes of ``[cos z, sin z]`` from the lanes of ``z`` (exact chain rule)."""
    cos, sin = torch.cos(z.value), torch.sin(z.value)
    value = torch.cat([cos, sin], dim=-1)
    grad = torch.cat([-sin * z.grad, cos * z.grad], dim=-1)
    diag = None
    if marked.count:
        square = marked.select(z.grad) ** 2
        if marked.summed and marked.count > 1:
            square = square.sum(dim=0, keepdim=True)
        d_cos, d_sin = -cos * square, -sin * square
        if z.diag is not None:
            d_cos, d_sin = d_cos - sin * z.diag, d_sin + cos * z.diag
        diag = torch.cat([d_cos, d_sin], dim=-1)
    return fl.Lanes(value, grad, diag)


def concat_lanes(parts: Sequence[fl.Lanes]) -> fl.Lanes:
    """Concatenate lanes along the width (expanding broadcast lanes, zero-filling None)."""
    if len(parts) == 1:
        return parts[0]
    n = parts[0].value.shape[0]
    value = torch.cat([p.value for p in parts], dim=-1)
    grad = torch.cat([p.grad.expand(p.grad.shape[0], n, p.grad.shape[2]) for p in parts], dim=-1)
    diags = [p.diag for p in parts]
    diag = None
    template = next((d for d in diags if d is not None), None)
    if template is not None:
        lanes = template.shape[0]
        filled = [
            p.value.new_zeros((lanes, n, p.value.shape[-1]))
            if d is None
            else d.expand(lanes, n, -1)
            for p, d in zip(parts, diags, strict=True)
        ]
        diag = torch.cat(filled, dim=-1)
    return fl.Lanes(value, grad, diag)


def check_fourier(n_features: object, sigma: object, keys: tuple[str, str]) -> None:
    """Validate a feature count and scale; ``keys`` name them in messages.

    Raises:
        ConfigurationError: A count that is not a positive int, a scale that is not > 0 finite.
    """
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ConfigurationError(f"{keys[0]}={n_features!r}; it must be a positive int (e.g. 64).")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ConfigurationError(
            f"{keys[1]}={sigma!r}; the frequency scale must be a positive number (e.g. 1.0)."
        )
    if not math.isfinite(sigma):
        raise ConfigurationError(f"{keys[1]}={sigma!r}; it must be finite (e.g. 1.0).")


def fourier_matrix(
    n_features: int,
    sigma: float,
    in_dim: int,
    bounds: Bounds | None,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` (float64) of ``z = 2 pi sigma G (scale x + shift)``, ``G ~ N(0, 1)``."""
    frequencies = torch.randn((n_features, in_dim), generator=generator, dtype=torch.float64)
    weight = 2.0 * math.pi * float(sigma) * frequencies
    bias = torch.zeros(n_features, dtype=torch.float64)
    if bounds is not None:
        scale, shift = normalisation_affine(bounds, in_dim)
        weight, bias = weight * scale, weight @ shift
    return weight, bias


class AbstractEmbedding(torch.nn.Module):
    """A fixed map of the input to features, with its forward-mode lanes.

    Attributes:
        in_dim: Input width.
        out_dim: Feature width.
    """

    in_dim: int
    out_dim: int

    def lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        """Propagate forward-mode lanes through the embedding."""
        raise NotImplementedError


class FourierEmbedding(AbstractEmbedding):
    """``[cos(2 pi sigma G h), sin(2 pi sigma G h)]`` with fixed ``G ~ N(0, 1)`` of shape (F, d).

    Args:
        in_dim: Input width ``d``.
        n_features: ``F``; the output has ``2 F`` columns.
        sigma: Frequency scale (cycles per unit of the, possibly normalised, input).
        bounds: Fold the input normalisation onto [-1, 1]^d into ``B``, or None.
        generator: Draws ``G`` (default: torch's global generator).
        dtype: The buffers' dtype.
        device: The buffers' device.
    """

    def __init__(
        self,
        in_dim: int,
        n_features: int,
        sigma: float,
        bounds: Bounds | None = None,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        check_fourier(n_features, sigma, ("n_features", "sigma"))
        self.in_dim, self.out_dim = in_dim, 2 * n_features
        self.n_features, self.sigma = n_features, float(sigma)
        weight, bias = fourier_matrix(n_features, sigma, in_dim, bounds, generator)
        dtype = dtype or torch.get_default_dtype()
        self.feature_weight: torch.Tensor
        self.feature_bias: torch.Tensor
        self.register_buffer("feature_weight", weight.to(dtype=dtype, device=device))
        self.register_buffer("feature_bias", bias.to(dtype=dtype, device=device))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = F.linear(h, self.feature_weight, self.feature_bias)
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)

    def lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        z = fl.linear_lanes(lanes, self.feature_weight, self.feature_bias)
        return sincos_lanes(z, marked)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, n_features={self.n_features}, sigma={self.sigma}"


class PeriodicEmbedding(AbstractEmbedding):
    """``[cos(2 pi k x_i / P_i), sin(2 pi k x_i / P_i) (i periodic, k = 1..modes), x_j (others)]``.

    Args:
        in_dim: Input width ``d``.
        periods: Column index -> period ``P_i > 0``.
        modes: The number of harmonics ``K``.
        bounds: Normalise the non-periodic coordinates onto [-1, 1], or None (they pass as is).
        dtype: The buffers' dtype.
        device: The buffers' device.

    The output has ``2 K p + (d - p)`` columns (``p`` periodic coordinates): all cosines (by
    coordinate, then harmonic), all sines, then the other coordinates in order.
    """

    def __init__(
        self,
        in_dim: int,
        periods: Mapping[int, float],
        modes: int = 1,
        bounds: Bounds | None = None,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.in_dim, self.modes = in_dim, modes
        self.periods = {int(i): float(p) for i, p in sorted(periods.items())}
        others = [j for j in range(in_dim) if j not in self.periods]
        # 2 pi k / P kept as Python floats and cast per dtype (not a buffer), so a network built
        # in float32 and moved to float64 is periodic to float64 round-off.
        self._phases = [
            (i, 2.0 * math.pi * k / period)
            for i, period in self.periods.items()
            for k in range(1, modes + 1)
        ]
        self._cache: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}
        scale = torch.ones(in_dim, dtype=torch.float64)
        shift = torch.zeros(in_dim, dtype=torch.float64)
        if bounds is not None:
            scale, shift = normalisation_affine(bounds, in_dim)
        keep = torch.zeros((len(others), in_dim), dtype=torch.float64)
        for row, j in enumerate(others):
            keep[row, j] = scale[j]
        dtype = dtype or torch.get_default_dtype()
        self.pass_weight: torch.Tensor
        self.pass_bias: torch.Tensor
        self.register_buffer("pass_weight", keep.to(dtype=dtype, device=device))
        self.register_buffer("pass_bias", shift[others].to(dtype=dtype, device=device))
        self.out_dim = 2 * len(self._phases) + len(others)

    def phase_weight(self, like: torch.Tensor) -> torch.Tensor:
        """The ``(K p, d)`` matrix of ``2 pi k / P_i``, in ``like``'s dtype and device."""
        key = (like.dtype, like.device)
        weight = self._cache.get(key)
        if weight is None:
            weight = torch.zeros((len(self._phases), self.in_dim), dtype=torch.float64)
            for row, (i, frequency) in enumerate(self._phases):
                weight[row, i] = frequency
            weight = self._cache[key] = weight.to(dtype=like.dtype, device=like.device)
        return weight

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = F.linear(h, self.phase_weight(h))
        passed = F.linear(h, self.pass_weight.to(h.dtype), self.pass_bias.to(h.dtype))
        return torch.cat([torch.cos(z), torch.sin(z), passed], dim=-1)

    def lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        x = lanes.value
        z = fl.linear_lanes(lanes, self.phase_weight(x), None)
        passed = fl.linear_lanes(lanes, self.pass_weight.to(x.dtype), self.pass_bias.to(x.dtype))
        if passed.value.shape[-1] == 0:
            return sincos_lanes(z, marked)
        return concat_lanes([sincos_lanes(z, marked), passed])

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, periods={self.periods}, modes={self.modes}"
