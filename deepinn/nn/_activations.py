"""Activation functions with analytic first and second derivatives.

Each activation is a small stateless object: calling it applies the function, and
``derivatives(z)`` returns ``(sigma(z), sigma'(z), sigma''(z))`` from shared intermediates, which
the forward Laplacian (``deepinn.nn._forward_laplacian``) propagates. The objects are instances of
module-level classes, so networks holding them pickle (``ddp_spawn``) and deep-copy cleanly.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F

from deepinn._errors import ConfigurationError, nearest

__all__ = ["ACTIVATIONS", "AbstractActivation", "get_activation"]

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class AbstractActivation:
    """An elementwise activation with its analytic first and second derivatives."""

    name: str = ""

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """Apply the activation elementwise."""
        raise NotImplementedError

    def derivatives(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(sigma(z), sigma'(z), sigma''(z))`` elementwise."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


class Tanh(AbstractActivation):
    """``tanh``: sigma' = 1 - t^2, sigma'' = -2 t (1 - t^2)."""

    name = "tanh"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z)

    def derivatives(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = torch.tanh(z)
        d1 = 1.0 - t * t
        return t, d1, -2.0 * t * d1


class Sin(AbstractActivation):
    """``sin``: sigma' = cos, sigma'' = -sin."""

    name = "sin"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z)

    def derivatives(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = torch.sin(z)
        return s, torch.cos(z), -s


class SiLU(AbstractActivation):
    """``silu`` (swish) z * sigmoid(z)."""

    name = "silu"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return F.silu(z)

    def derivatives(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = torch.sigmoid(z)
        ds = s * (1.0 - s)  # sigmoid'
        d1 = s + z * ds
        d2 = ds * (2.0 + z * (1.0 - 2.0 * s))
        return z * s, d1, d2


class GELU(AbstractActivation):
    """``gelu``, exact form z * Phi(z): sigma' = Phi + z phi, sigma'' = phi (2 - z^2)."""

    name = "gelu"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return F.gelu(z)

    def derivatives(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cdf = 0.5 * (1.0 + torch.erf(z * _INV_SQRT2))
        pdf = _INV_SQRT_2PI * torch.exp(-0.5 * z * z)
        zpdf = z * pdf
        return z * cdf, cdf + zpdf, 2.0 * pdf - z * zpdf


class ReLU(AbstractActivation):
    """``relu``: sigma' is the step function, sigma'' = 0 (almost everywhere)."""

    name = "relu"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z)

    def derivatives(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        step = (z > 0).to(z.dtype)
        return torch.relu(z), step, torch.zeros_like(z)


class Sigmoid(AbstractActivation):
    """``sigmoid``: sigma' = s (1 - s), sigma'' = s (1 - s) (1 - 2 s)."""

    name = "sigmoid"

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(z)

    def derivatives(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = torch.sigmoid(z)
        d1 = s * (1.0 - s)
        return s, d1, d1 * (1.0 - 2.0 * s)


_CLASSES: dict[str, type[AbstractActivation]] = {
    cls.name: cls for cls in (Tanh, Sin, SiLU, GELU, ReLU, Sigmoid)
}
_ALIASES: dict[str, str] = {"sine": "sin", "swish": "silu"}

ACTIVATIONS: tuple[str, ...] = tuple(_CLASSES)
"""The canonical activation names (matched case-insensitively; ``sine``, ``swish`` also work)."""


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def get_activation(name: str | AbstractActivation) -> AbstractActivation:
    """Return the activation called ``name`` (case-insensitive).

    Args:
        name: One of :data:`ACTIVATIONS` (or an alias), or an activation object.

    Returns:
        The activation.

    Raises:
        ConfigurationError: ``name`` is not a known activation; the message lists the valid
            names and the nearest.
    """
    if isinstance(name, AbstractActivation):
        return name
    if not isinstance(name, str):
        raise ConfigurationError(
            f"activation must be a name (str), got {name!r} of type {type(name).__name__}. "
            f"Valid activations: {', '.join(ACTIVATIONS)}."
        )
    key = _key(name)
    key = _ALIASES.get(key, key)
    cls = _CLASSES.get(key)
    if cls is None:
        message = f"Unknown activation {name!r}. Valid activations: {', '.join(ACTIVATIONS)}."
        suggestion = nearest(key, [*ACTIVATIONS, *_ALIASES])
        if suggestion is not None:
            message += f" Did you mean {_ALIASES.get(suggestion, suggestion)!r}?"
        raise ConfigurationError(message)
    return cls()
