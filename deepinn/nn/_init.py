"""Weight initialisers by name: Xavier (Glorot) and Kaiming (He), normal or uniform."""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from deepinn._errors import ConfigurationError, nearest

__all__ = ["INITIALISERS", "get_initialiser"]


def _kaiming_normal(weight: torch.Tensor) -> torch.Tensor:
    return torch.nn.init.kaiming_normal_(weight, nonlinearity="relu")


def _kaiming_uniform(weight: torch.Tensor) -> torch.Tensor:
    return torch.nn.init.kaiming_uniform_(weight, nonlinearity="relu")


_INITIALISERS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "xavier_normal": torch.nn.init.xavier_normal_,
    "xavier_uniform": torch.nn.init.xavier_uniform_,
    "kaiming_normal": _kaiming_normal,
    "kaiming_uniform": _kaiming_uniform,
}

INITIALISERS: tuple[str, ...] = tuple(_INITIALISERS)
"""The canonical initialiser names. Spellings such as ``"Xavier normal"``, ``"Glorot normal"``,
``"glorot_uniform"``, ``"He normal"`` or ``"he_uniform"`` are accepted too."""

_FAMILY = {"xavier": "xavier", "glorot": "xavier", "kaiming": "kaiming", "he": "kaiming"}


def _canonical(name: str) -> str | None:
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    joined = "".join(words)
    for prefix, family in _FAMILY.items():
        if joined.startswith(prefix):
            rest = joined[len(prefix) :]
            if rest in {"normal", "uniform"}:
                return f"{family}_{rest}"
    return None


def get_initialiser(name: str) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Resolve an initialiser name to its canonical name and in-place weight initialiser.

    Args:
        name: One of :data:`INITIALISERS`, case-insensitive, with spaces, hyphens or
            underscores, ``glorot`` for ``xavier`` and ``he`` for ``kaiming``.

    Returns:
        ``(canonical_name, init_)`` where ``init_(weight)`` fills ``weight`` in place.

    Raises:
        ConfigurationError: The name matches no initialiser; the message lists the valid names
            and the nearest.
    """
    if not isinstance(name, str):
        raise ConfigurationError(
            f"initialiser must be a name (str), got {name!r} of type {type(name).__name__}. "
            f"Valid initialisers: {', '.join(INITIALISERS)}."
        )
    canonical = _canonical(name)
    if canonical is None:
        message = f"Unknown initialiser {name!r}. Valid initialisers: {', '.join(INITIALISERS)}"
        message += " (also spelt like 'Xavier normal', 'Glorot uniform', 'He normal')."
        suggestion = nearest(re.sub(r"[^a-z0-9]+", "_", name.lower()), INITIALISERS)
        if suggestion is not None:
            message += f" Did you mean {suggestion!r}?"
        raise ConfigurationError(message)
    return canonical, _INITIALISERS[canonical]
