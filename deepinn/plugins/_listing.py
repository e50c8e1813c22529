"""Plain-text listing of a registry, as ``deepinn plugins`` prints it."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Sequence
from typing import Any

from deepinn.plugins._kinds import KINDS, Kind
from deepinn.plugins._registration import Registration
from deepinn.plugins._registry import Registry

__all__ = ["format_params", "format_registry"]

_COLUMNS = ("NAME", "PROVIDER", "DISTRIBUTION", "SUMMARY")


def _table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        lines.append((indent + "  ".join([*cells, row[-1]])).rstrip())
    return lines


def format_registry(
    registry: Registry, kinds: Sequence[str] | None = None, params: bool = False
) -> str:
    """Describe every registered component by kind, then every plugin that failed to load.

    Args:
        registry: The registry to describe.
        kinds: The kinds to list (plural, as in ``deepinn.plugins.KINDS``); default all.
        params: Follow each component with its parameters (:func:`format_params`).

    Returns:
        The listing: one block per kind, a row per component with its name, provider,
        distribution and summary, then one line per failed plugin with the reason. Ends with a
        newline.

    Raises:
        UnknownNameError: A kind is not one of ``KINDS``.
    """
    lines: list[str] = []
    for kind in KINDS if kinds is None else kinds:
        registrations = registry.registrations(kind)
        lines.append(f"{kind} ({len(registrations)}):")
        if registrations:
            rows = [_COLUMNS] + [
                (r.name, r.provider or "?", r.distribution or "?", r.summary) for r in registrations
            ]
            lines.extend(_table(rows))
            if params:
                kind_row = registry.kind(kind).kind
                for registration in registrations:
                    lines.append("")
                    lines.extend(
                        "  " + line for line in format_params(registration, kind_row).splitlines()
                    )
        else:
            lines.append("  (none registered)")
        lines.append("")
    for kind in KINDS if kinds is None else kinds:
        components = registry.kind(kind)
        for name, found in sorted(components.duplicates().items()):
            qualified = ", ".join(components.qualified(r) for r in found)
            lines.append(
                f"{components.kind.singular} {name!r} is registered by {len(found)} plugins: "
                f"choose one by its qualified name ({qualified})."
            )
            lines.append("")
    if registry.disabled:
        names = ", ".join(f"{plugin} ({dist})" for plugin, dist in registry.disabled)
        lines.append(f"disabled plugins: {names}")
        lines.append("")
    for note in registry.notes:
        lines.append(f"note: {note}")
        lines.append("")
    if registry.failures:
        lines.append(f"plugins that failed to load ({len(registry.failures)}):")
        for failure in registry.failures:
            lines.append(
                f"  {failure.plugin} (distribution {failure.distribution}): {failure.error}"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _field_docs(schema: type) -> dict[str, str]:
    """Per-field docs: ``field(metadata={"help": ...})``, else the docstring's ``Attributes:``."""
    docs = _section_docs(schema)
    for item in dataclasses.fields(schema):
        if item.metadata.get("help"):
            docs[item.name] = str(item.metadata["help"])
    return docs


def _section_docs(documented: object) -> dict[str, str]:
    """The entries of a docstring's ``Attributes:`` or ``Args:`` section, by name."""
    docs: dict[str, str] = {}
    lines = inspect.getdoc(documented) or ""
    section = False
    current = None
    for line in lines.splitlines():
        stripped = line.strip()
        if stripped in ("Attributes:", "Args:", "Parameters:"):
            section, current = True, None
            continue
        if not section:
            continue
        if not stripped or (not line.startswith(" ") and stripped.endswith(":")):
            section = bool(stripped) and section
            current = None
            continue
        key, sep, text = stripped.partition(":")
        top_level = line.startswith("    ") and not line.startswith("        ")
        if sep and top_level and key.isidentifier():
            current = key
            docs[key] = text.strip()
        elif current is not None:
            docs[current] += " " + stripped
    return docs


def _keyword_rows(factory: object) -> list[tuple[str, str, str, str]]:
    """The keyword-only parameters of a factory (what a problem gives a constraint), with the
    docs of its docstring's ``Args:``."""
    try:
        parameters = inspect.signature(factory).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []
    docs = _section_docs(factory)
    return [
        (
            p.name,
            "" if p.annotation is inspect.Parameter.empty else str(p.annotation),
            "(required)" if p.default is inspect.Parameter.empty else repr(p.default),
            docs.get(p.name, ""),
        )
        for p in parameters
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]


def _default(item: dataclasses.Field[Any]) -> str:
    if item.default is not dataclasses.MISSING:
        return repr(item.default)
    if item.default_factory is not dataclasses.MISSING:
        return repr(item.default_factory())
    return "(required)"


def format_params(registration: Registration, kind: Kind) -> str:
    """Describe one component's parameters: name, type, default and doc, one row each.

    Returns:
        ``<kind> <name>`` with its summary and provider, the option to select it on the command
        line, then a table of its parameters. Ends with a newline.
    """
    lines = [f"{kind.singular} {registration.name}: {registration.summary}"]
    lines.append(f"  provider {registration.provider or '?'} ({registration.distribution or '?'})")
    if kind.group is not None:
        lines.append(
            f"  select with {kind.group}={registration.name}; set {kind.group}.<parameter>=..."
        )
    elif kind.list_group is not None:
        group, name = kind.list_group, registration.name
        lines.append(
            f"  select with {group}=[{name}] (several: {group}=[{name},<other>]); set "
            f"{group}.{name}.<parameter>=..."
        )
    docs = _field_docs(registration.schema)
    fields = dataclasses.fields(registration.schema)
    if fields:
        rows = [("PARAMETER", "TYPE", "DEFAULT", "DOC")] + [
            (f.name, str(f.type).replace("typing.", ""), _default(f), docs.get(f.name, ""))
            for f in fields
        ]
        lines.extend(_table(rows))
    else:
        lines.append("  (no parameters)")
    keywords = _keyword_rows(registration.factory)
    if keywords:
        lines.append(
            "  given by the problem (problem=custom: the key in brackets of "
            "problem.constraints.<name>):"
        )
        lines.extend(_table([("KEYWORD", "TYPE", "DEFAULT", "DOC"), *keywords]))
    return "\n".join(lines) + "\n"
