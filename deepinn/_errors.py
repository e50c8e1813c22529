"""The error hierarchy: every error deepinn raises on purpose subclasses ``DeepinnError``.

A message says what was wrong, the offending value, the valid choices and how to fix it.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ConfigurationError",
    "DeepinnError",
    "DuplicateNameError",
    "GeometryError",
    "PluginError",
    "Setting",
    "ShapeError",
    "TrainingError",
    "UnknownNameError",
    "spoken_as",
]

Syntax = Literal["python", "cli"]
_SYNTAX: contextvars.ContextVar[Syntax] = contextvars.ContextVar("deepinn_syntax", default="python")


@contextlib.contextmanager
def spoken_as(syntax: Syntax) -> Iterator[None]:
    """Render the fixes of errors raised and printed inside the block in ``syntax``: ``"cli"``
    (``deepinn train key=value``) or ``"python"`` (``deepinn.fit(..., keyword=value)``)."""
    token = _SYNTAX.set(syntax)
    try:
        yield
    finally:
        _SYNTAX.reset(token)


@dataclass(frozen=True)
class Setting:
    """One setting a fix changes, in neither caller's syntax: the configuration key and its value.

    Attributes:
        key: The dotted configuration key (``resume``, ``optimizer.lr``, ``monitor.val_every``).
        value: The value to give it, or a placeholder such as ``"<lower>"``.
        python: How the Python API says it (``"phases=adam(lr=<lower>)"``); default
            ``<last part of key>=<value>`` as a keyword of ``deepinn.fit``.
        cli: How the command line says it where that is not a ``key=value`` override (an
            option of another command: ``"--format onnx"``); default ``key=value``.
    """

    key: str
    value: object
    python: str | None = None
    cli: str | None = None

    def render(self, syntax: Syntax) -> str:
        """``key=value`` (or :attr:`cli`) on the command line, the ``fit`` keyword (or
        :attr:`python`) in Python."""
        if syntax == "cli":
            return self.cli if self.cli is not None else f"{self.key}={_cli_value(self.value)}"
        if self.python is not None:
            return self.python
        value = self.value
        shown = value if isinstance(value, str) and value.startswith("<") else repr(value)
        return f"{self.key.rsplit('.', 1)[-1]}={shown}"


def _cli_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class DeepinnError(Exception):
    """Base class of every error deepinn raises on purpose.

    A lower layer states what went wrong and, as ``fix``, the settings that would mend it; the
    message's ``{fix}`` placeholder (or, without one, a closing sentence) shows them in the
    caller's syntax (see :func:`spoken_as`), so no layer below the command line spells its syntax.
    With ``alternatives=True`` the settings are options of the command or call that raised
    (``--format onnx`` / ``format='onnx'``), each a fix of its own: they are shown alone, joined
    by ``, or``, not as one ``deepinn train`` / ``deepinn.fit`` line.
    """

    def __init__(
        self, *args: object, fix: Sequence[Setting] = (), alternatives: bool = False
    ) -> None:
        super().__init__(*args)
        self.fix = tuple(fix)
        self.alternatives = alternatives

    def render(self, syntax: Syntax) -> str:
        """The message with the fix in ``syntax``."""
        message = str(self.args[0]) if self.args else ""
        if not self.fix:
            return message
        if getattr(self, "alternatives", False):
            fix = ", or ".join(s.render(syntax) for s in self.fix)
        elif syntax == "cli":
            fix = "deepinn train " + " ".join(s.render("cli") for s in self.fix)
        else:
            fix = "deepinn.fit(..., " + ", ".join(s.render("python") for s in self.fix) + ")"
        if "{fix}" in message:
            return message.replace("{fix}", fix)
        return f"{message} Fix: {fix}"

    def __str__(self) -> str:
        if not getattr(self, "fix", ()):
            return super().__str__()
        return self.render(_SYNTAX.get())


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
        return self.render(_SYNTAX.get()) if self.args else ""


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
