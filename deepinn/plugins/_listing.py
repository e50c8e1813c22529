"""Plain-text listing of a registry, as ``deepinn plugins`` prints it."""

from __future__ import annotations

from collections.abc import Sequence

from deepinn.plugins._kinds import KINDS
from deepinn.plugins._registry import Registry

__all__ = ["format_registry"]

_COLUMNS = ("NAME", "PROVIDER", "DISTRIBUTION", "SUMMARY")


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        lines.append((indent + "  ".join([*cells, row[-1]])).rstrip())
    return lines


def format_registry(registry: Registry, kinds: Sequence[str] | None = None) -> str:
    """Describe every registered component by kind, then every plugin that failed to load.

    Args:
        registry: The registry to describe.
        kinds: The kinds to list (plural, as in ``deepinn.plugins.KINDS``); default all.

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
        else:
            lines.append("  (none registered)")
        lines.append("")
    if registry.failures:
        lines.append(f"plugins that failed to load ({len(registry.failures)}):")
        for failure in registry.failures:
            lines.append(
                f"  {failure.plugin} (distribution {failure.distribution}): {failure.error}"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
