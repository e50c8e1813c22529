"""Random weight factorisation (Wang, Wang, Sankaran & Perdikaris 2022).

A dense layer's weight is trained as ``W = diag(exp(s)) V``: one trainable log-scale ``s_j`` per
output neuron and a direction matrix ``V``. At initialisation ``W`` is drawn by the usual
initialiser, ``s ~ N(mean, std^2)`` and ``V = W / exp(s)``, so the network computes exactly the
same function as without factorisation; only the parameterisation (hence the optimisation)
changes. The layer is still linear in its input, so the forward-Laplacian lanes pass through it
exactly (``linear_lanes`` with the recomposed weight).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, cast

import torch

from deepinn._errors import ConfigurationError

__all__ = ["DenseLayer", "RWFLinear", "check_rwf", "dense", "factorise_layers"]


def check_rwf(mean: object, std: object) -> tuple[float, float]:
    """Validate the factorisation's ``(mean, std)``.

    Raises:
        ConfigurationError: A non-finite mean or a negative/non-finite std.
    """
    for key, value in (("rwf_mean", mean), ("rwf_std", std)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ConfigurationError(
                f"net.{key}={value!r}: it must be a finite number (e.g. net.rwf_mean=1.0 "
                "net.rwf_std=0.1)."
            )
    if std < 0:  # type: ignore[operator]
        raise ConfigurationError(
            f"net.rwf_std={std!r}: a standard deviation cannot be negative; use e.g. "
            "net.rwf_std=0.1 (0 gives every neuron the scale exp(rwf_mean))."
        )
    return float(mean), float(std)  # type: ignore[arg-type]


class DenseLayer(Protocol):
    """A dense layer as the networks read it: :class:`torch.nn.Linear` or :class:`RWFLinear`."""

    @property
    def weight(self) -> torch.Tensor: ...

    @property
    def bias(self) -> torch.Tensor: ...


def dense(layers: torch.nn.ModuleList) -> Sequence[DenseLayer]:
    """``layers`` typed as the dense layers they hold (a ModuleList types its items as Module).

    Only a static cast: the ModuleList itself is returned.
    """
    return cast("Sequence[DenseLayer]", layers)


class RWFLinear(torch.nn.Module):
    """A dense layer ``y = (exp(s) * V) x + b`` with trainable ``s`` (log-scales) and ``V``.

    Built from an initialised :class:`torch.nn.Linear` by :meth:`from_linear`. ``weight`` is the
    recomposed ``diag(exp(s)) V`` (a property), so code written for ``torch.nn.Linear``
    (``layer.weight``, ``layer.bias``) works unchanged.
    """

    def __init__(
        self, direction: torch.Tensor, log_scale: torch.Tensor, bias: torch.Tensor
    ) -> None:
        super().__init__()
        self.out_features, self.in_features = direction.shape
        self.direction = torch.nn.Parameter(direction)
        self.log_scale = torch.nn.Parameter(log_scale)
        self.bias = torch.nn.Parameter(bias)

    @classmethod
    def from_linear(
        cls,
        layer: DenseLayer,
        mean: float,
        std: float,
        generator: torch.Generator | None = None,
    ) -> RWFLinear:
        """Factorise ``layer.weight`` with ``s ~ N(mean, std^2)``, keeping ``W`` unchanged."""
        weight = layer.weight.detach()
        noise = torch.randn(weight.shape[0], generator=generator, dtype=torch.float64, device="cpu")
        log_scale = (mean + std * noise).to(weight.dtype).to(weight.device)
        direction = weight / torch.exp(log_scale).unsqueeze(1)
        bias = layer.bias.detach().clone()
        return cls(direction.clone(), log_scale, bias)

    @property
    def weight(self) -> torch.Tensor:
        """The recomposed weight ``diag(exp(s)) V``, shape ``(out_features, in_features)``."""
        return torch.exp(self.log_scale).unsqueeze(1) * self.direction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, factorised=True"


def factorise_layers(
    layers: torch.nn.ModuleList,
    rwf: tuple[float, float] | None,
    generator: torch.Generator | None = None,
) -> None:
    """Replace every layer of ``layers`` by its :class:`RWFLinear` factorisation, in place.

    Args:
        layers: Initialised :class:`torch.nn.Linear` layers.
        rwf: ``(mean, std)`` of the log-scales, or None to leave the layers alone.
        generator: Draws the log-scales (default: torch's global generator).
    """
    if rwf is None:
        return
    mean, std = check_rwf(*rwf)
    for index, layer in enumerate(dense(layers)):
        layers[index] = RWFLinear.from_linear(layer, mean, std, generator)
