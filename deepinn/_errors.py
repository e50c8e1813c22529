"""The error hierarchy: every error deepinn raises on purpose subclasses ``DeepinnError``.

A message says what was wrong, the offending value, the valid choices and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigurationError",
    "DeepinnError",
    "DuplicateNameError",
    "GeometryError",
    "PluginError",
    "ShapeError",
    "TrainingError",
    "UnknownNameError",
]


class DeepinnError(Exception):
    """Base class of every error deepinn raises on purpose."""


class ConfigurationError(DeepinnError, ValueError):
    """A parameter has a value that cannot work (wrong type, out of range, inconsistent)."""


class GeometryError(ConfigurationError):
    """A domain is degenerate or inconsistent (collinear corners, non-positive radius, ...)."""


class ShapeError(DeepinnError, ValueError):
    """A tensor has the wrong shape."""


class PluginError(DeepinnError):
    """A plugin could not be loaded or registers something invalid."""


class UnknownNameError(PluginError, KeyError):
    """A name was asked for that no plugin registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(PluginError):
    """Two providers registered the same name for one kind."""


class TrainingError(DeepinnError, RuntimeError):
    """Training cannot go on (for example a non-finite loss)."""


def nearest(name: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_name_message(
    kind: str,
    name: str,
    choices: Iterable[str],
    *,
    plural: str | None = None,
    listed: str = "Registered",
) -> str:
    """Build the message for an unknown name: the value, what exists, the nearest match.

    Args:
        kind: What was asked for, singular (``"domain"``).
        name: The unknown name.
        choices: The names that exist.
        plural: The plural of ``kind``; default ``kind + "s"``.
        listed: The word before the list (``"Registered domains: ..."``).

    Returns:
        ``"Unknown domain 'circel'. Registered domains: circle, disk. Did you mean 'circle'?"``
    """
    choices = sorted(choices)
    plural = f"{kind}s" if plural is None else plural
    message = (
        f"Unknown {kind} {name!r}. {listed} {plural}: {', '.join(choices) or '(none)'}."
    )
    suggestion = nearest(name, choices)
    if suggestion is not None:
        message += f" Did you mean {suggestion!r}?"
    return message
