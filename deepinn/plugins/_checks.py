"""What can be wrong with one plugin, found while it is loaded; each a sentence for its report.

A plugin is loaded all or nothing (``deepinn.plugins.load_registry``): every problem found here
is collected, and a plugin with any contributes nothing and is reported once with all of them.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence

import pluggy

from deepinn._errors import nearest
from deepinn.plugins._kinds import KIND_TABLE, Kind
from deepinn.plugins._registration import Registration

__all__ = [
    "HOOKS",
    "name_problems",
    "problems_text",
    "returned_problem",
    "unknown_hooks",
]

HOOKS: tuple[str, ...] = tuple(kind.hook for kind in KIND_TABLE)
"""The hooks' names, in kind-table order."""


def _short(value: object) -> str:
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = 60
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = 4
    return shortener.repr(value)


def unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """One problem per function marked ``@hookimpl`` whose name is not a deepinn hook."""
    problems = []
    for attribute in sorted(dir(plugin)):
        try:
            options = pm.parse_hookimpl_opts(plugin, attribute)
        except Exception:  # an attribute that cannot even be read is no hook implementation
            continue
        if options is None:
            continue
        hook = options.get("specname") or attribute
        if hook in HOOKS:
            continue
        hint = nearest(hook, HOOKS)
        problems.append(
            f"{hook!r} is marked @hookimpl but is no deepinn hook"
            + (f"; did you mean {hint!r}?" if hint else ".")
            + f" The hooks are: {', '.join(HOOKS)}"
        )
    return problems


def returned_problem(hook: str, returned: object) -> str | None:
    """What is wrong with a hook's return value (None: a list or tuple of Registration)."""
    advice = "return a list of Registration(...) (deepinn.plugins.Registration)"
    if isinstance(returned, Registration):
        return (
            f"{hook} returned one Registration ({returned.name!r}), not a list; return "
            "[Registration(...)]"
        )
    if not isinstance(returned, (list, tuple)):
        return f"{hook} returned a {type(returned).__name__}, {_short(returned)}; {advice}"
    bad = [(i, item) for i, item in enumerate(returned) if not isinstance(item, Registration)]
    if not bad:
        return None
    items = ", ".join(
        f"item {i} is a {type(item).__name__}, {_short(item)}" for i, item in bad[:3]
    )
    return (
        f"{hook} returned a {type(returned).__name__} in which {items} (not a Registration); "
        f"{advice}"
    )


def name_problems(found: Sequence[tuple[Kind, Registration]]) -> list[str]:
    """A name one plugin registers more than once in one kind."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for kind, registration in found:
        if (kind.name, registration.name) in seen:
            problems.append(
                f"it registers the {kind.singular} {registration.name!r} more than once; "
                "register each name once per kind"
            )
        seen.add((kind.name, registration.name))
    return problems


def problems_text(problems: Sequence[str]) -> str:
    """One plugin's problems as one report: the problem itself, or ``N problems: (1) ...``."""
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems: " + "; ".join(
        f"({i}) {problem}" for i, problem in enumerate(problems, start=1)
    )
