"""Finding and loading plugins, and what happens when one fails.

The built-in plugins come first, then plugins passed in code, then the ``deepinn`` entry points
sorted by distribution and name, so every process (every DDP rank) loads the same plugins in the
same order. A plugin is loaded all or nothing; one that fails is reported with its entry point and
distribution (a :class:`PluginWarning`, a ``PluginError`` in strict mode) and never takes the
others down. deepinn's own plugins cannot fail quietly and cannot be disabled.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from deepinn._errors import PluginError, unknown_name_message
from deepinn.plugins import _hookspecs
from deepinn.plugins._checks import name_problems, problems_text, returned_problem, unknown_hooks
from deepinn.plugins._hookspecs import PROJECT_NAME
from deepinn.plugins._kinds import KIND_TABLE, Kind
from deepinn.plugins._registration import Registration

__all__ = [
    "BUILTIN_PLUGINS",
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "IN_CODE",
    "STRICT_ENV",
    "LoadedPlugins",
    "PluginFailure",
    "PluginWarning",
    "is_builtin",
    "load_plugins",
]

ENTRY_POINT_GROUP = PROJECT_NAME
STRICT_ENV = "DEEPINN_STRICT_PLUGINS"
DISABLE_ENV = "DEEPINN_DISABLE_PLUGINS"

BUILTIN_PLUGINS: tuple[str, ...] = (
    "deepinn.spaces._plugin",
    "deepinn.domains._plugin",
    "deepinn.samplers._plugin",
    "deepinn.operators._plugin",
    "deepinn.constraints._plugin",
    "deepinn.nn._plugin",
    "deepinn.problems._plugin",
    "deepinn.plugins._builtin_callbacks",
)
"""deepinn's own plugin modules, registered first and never disabled."""

IN_CODE = "(registered in code)"
"""The distribution shown for a plugin passed to ``load_registry(plugins=...)``."""


class PluginWarning(UserWarning):
    """A third-party plugin could not be loaded; the others still are."""


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that failed to load: which, from where, and why."""

    plugin: str
    distribution: str
    error: str

    def __str__(self) -> str:
        return (
            f"deepinn plugin {self.plugin!r} (distribution {self.distribution!r}) failed to "
            f"load: {self.error}"
        )


@dataclass
class LoadedPlugins:
    """What loading found: registrations by kind and name, and what failed or was skipped."""

    registrations: dict[str, dict[str, list[Registration]]]
    failures: list[PluginFailure]
    plugin_manager: pluggy.PluginManager
    disabled: list[tuple[str, str]] = field(default_factory=list)
    """The (plugin, distribution) pairs that were installed but disabled."""
    notes: list[str] = field(default_factory=list)
    """Warnings that are not a plugin failure (a disabled name that is no installed plugin)."""


def is_builtin(registration: Registration) -> bool:
    """Whether deepinn's own built-in plugins registered it."""
    return registration.provider in BUILTIN_PLUGINS


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def _distribution_name(entry_point: metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return dist.name if dist is not None else "(unknown distribution)"


def _discover_entry_points() -> list[metadata.EntryPoint]:
    found = metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted(found, key=lambda ep: (_distribution_name(ep), ep.name))


def _check_disabled_names(disabled: set[str], eps: Sequence[metadata.EntryPoint]) -> list[str]:
    """Warn about a disabled name that matches no installed plugin (a typo disables nothing).

    Returns:
        The warnings' messages.
    """
    messages = []
    known = {ep.name for ep in eps} | {_distribution_name(ep) for ep in eps}
    for name in sorted(disabled - known):
        if name in BUILTIN_PLUGINS or name == "deepinn":
            message = f"{DISABLE_ENV} names {name!r}: deepinn's own components cannot be disabled."
        else:
            message = unknown_name_message(
                "plugin to disable", name, known, plural="installed plugins", listed="The"
            ) + f" ({DISABLE_ENV} or --disable); it disables nothing."
        warnings.warn(message, PluginWarning, stacklevel=4)
        messages.append(message)
    return messages


def _strict_mode(strict: bool | None) -> tuple[bool, str]:
    """Whether loading is strict, and what turned strict mode on (for the error's message)."""
    if strict is None:
        value = os.environ.get(STRICT_ENV, "").strip()
        how = (
            f"Strict mode is on because {STRICT_ENV}={value} is set; unset it (or pass "
            "--no-strict, or load_registry(strict=False)) to only warn"
        )
        return _env_flag(STRICT_ENV), how
    how = (
        "Strict mode is on because the caller asked for it (deepinn plugins --strict, or "
        "load_registry(strict=True)); leave that out to only warn"
    )
    return strict, how


def _fail(
    failure: PluginFailure,
    failures: list[PluginFailure],
    strict: tuple[bool, str],
    stacklevel: int = 4,
) -> None:
    """Raise (strict mode) or warn about ``failure`` and record it.

    ``stacklevel`` points the warning at the caller of ``load_registry``.
    """
    on, how = strict
    text = str(failure).rstrip(".")
    if on:
        raise PluginError(f"{text}. {how}.")
    if failure.distribution == IN_CODE:
        fix = "fix it, or stop passing it in load_registry(plugins=...)"
    else:
        fix = f"uninstall or fix it, or disable it with {DISABLE_ENV}={failure.plugin}"
    warnings.warn(
        f"{text}. It contributes nothing; the other plugins were loaded; {fix}.",
        PluginWarning,
        stacklevel=stacklevel,
    )
    failures.append(failure)


def _call_hooks(
    pm: pluggy.PluginManager, plugin_name: str, builtin: bool
) -> tuple[list[tuple[Kind, Registration]], list[str]]:
    """Every registration one plugin's hooks return, and every problem with them."""
    found: list[tuple[Kind, Registration]] = []
    problems: list[str] = []
    for kind in KIND_TABLE:
        for impl in getattr(pm.hook, kind.hook).get_hookimpls():
            if impl.plugin_name != plugin_name:
                continue
            try:
                returned = impl.function()
            except Exception as error:
                if builtin:
                    raise  # deepinn's own components cannot be disabled: never only a warning
                problems.append(f"{kind.hook} raised {type(error).__name__}: {error}")
                continue
            if returned is None:
                continue
            problem = returned_problem(kind.hook, returned)
            if problem is not None:
                problems.append(problem)
                continue
            found.extend((kind, item) for item in returned)
    return found, problems


def _builtin_and_code_plugins(
    plugins: Iterable[object], builtins: bool
) -> list[tuple[str, str, object]]:
    """The built-in plugins and those passed in code, as (plugin name, distribution, plugin)."""
    candidates: list[tuple[str, str, object]] = []
    if builtins:
        for module_name in BUILTIN_PLUGINS:
            candidates.append((module_name, "deepinn", importlib.import_module(module_name)))
    for index, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{index}"
        candidates.append((name, IN_CODE, plugin))
    return candidates


def _entry_point_plugins(
    eps: Sequence[metadata.EntryPoint],
    disabled: set[str],
    loaded: LoadedPlugins,
    mode: tuple[bool, str],
) -> list[tuple[str, str, object]]:
    """The entry points that import, as (plugin name, distribution, plugin).

    A disabled one is recorded in ``loaded.disabled``, one that fails to import in
    ``loaded.failures``.
    """
    candidates: list[tuple[str, str, object]] = []
    for entry_point in eps:
        distribution = _distribution_name(entry_point)
        if entry_point.name in disabled or distribution in disabled:
            loaded.disabled.append((entry_point.name, distribution))
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:
            failure = PluginFailure(
                entry_point.name, distribution, f"{type(error).__name__}: {error}"
            )
            _fail(failure, loaded.failures, mode, stacklevel=5)
            continue
        candidates.append((entry_point.name, distribution, plugin))
    return candidates


def load_plugins(
    *,
    strict: bool | None,
    disabled: Iterable[str] | None,
    entry_points: Iterable[metadata.EntryPoint] | None,
    plugins: Iterable[object],
    builtins: bool,
) -> LoadedPlugins:
    """Register every plugin in a fresh plugin manager and collect its registrations.

    The arguments are :func:`deepinn.plugins.load_registry`'s, which documents them.

    Raises:
        PluginError: A plugin failed to load in strict mode, or a built-in plugin is broken.
    """
    mode = _strict_mode(strict)
    disabled = _env_list(DISABLE_ENV) if disabled is None else set(disabled)
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(_hookspecs)
    loaded = LoadedPlugins({kind.name: {} for kind in KIND_TABLE}, [], pm)
    candidates = _builtin_and_code_plugins(plugins, builtins)
    eps = _discover_entry_points() if entry_points is None else list(entry_points)
    loaded.notes = _check_disabled_names(disabled, eps)
    candidates += _entry_point_plugins(eps, disabled, loaded, mode)

    for plugin_name, distribution, plugin in candidates:
        builtin = distribution == "deepinn" and plugin_name in BUILTIN_PLUGINS
        problems = unknown_hooks(pm, plugin)
        found: list[tuple[Kind, Registration]] = []
        if not problems:
            try:
                pm.register(plugin, name=plugin_name)
            except Exception as error:
                if builtin:
                    raise
                problems.append(f"{type(error).__name__}: {error}")
            else:
                found, problems = _call_hooks(pm, plugin_name, builtin)
                problems += name_problems(found)
        if problems:
            if builtin:
                raise PluginError(f"deepinn's built-in plugin {plugin_name!r}: {problems}")
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            failure = PluginFailure(plugin_name, distribution, problems_text(problems))
            _fail(failure, loaded.failures, mode)
            continue
        for kind, item in found:
            loaded.registrations[kind.name].setdefault(item.name, []).append(
                dataclasses.replace(item, provider=plugin_name, distribution=distribution)
            )
    return loaded
