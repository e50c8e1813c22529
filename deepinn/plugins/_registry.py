"""The typed registry facade between the core and pluggy.

``load_registry()`` is the one explicit call that loads plugins: the built-in plugins first, then
the ``deepinn`` entry points sorted by distribution and name, so every process (every DDP rank)
gets the same registry. Core code asks the :class:`Registry`, never ``pm.hook`` directly.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from deepinn._errors import (
    ConfigurationError,
    DuplicateNameError,
    PluginError,
    UnknownNameError,
    unknown_name_message,
)
from deepinn.plugins import _hookspecs
from deepinn.plugins._hookspecs import KINDS, PROJECT_NAME
from deepinn.plugins._registration import Registration

__all__ = [
    "DISABLE_ENV",
    "STRICT_ENV",
    "BUILTIN_PLUGINS",
    "PluginFailure",
    "PluginWarning",
    "Registry",
    "load_registry",
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
)


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


class Registry:
    """Every registered component, by kind and name.

    Build one with :func:`load_registry`; it holds its own plugin manager, so registries never
    leak between tests or runs.
    """

    def __init__(
        self,
        registrations: Mapping[str, Mapping[str, Registration]],
        failures: Sequence[PluginFailure] = (),
        plugin_manager: pluggy.PluginManager | None = None,
    ) -> None:
        self._registrations = {kind: dict(registrations.get(kind, {})) for kind in KINDS}
        self.failures: tuple[PluginFailure, ...] = tuple(failures)
        self.plugin_manager = plugin_manager

    def _check_kind(self, kind: str) -> None:
        if kind not in self._registrations:
            raise UnknownNameError(unknown_name_message("kind", kind, KINDS, listed="Valid"))

    def names(self, kind: str) -> list[str]:
        """The registered names of ``kind``, sorted."""
        self._check_kind(kind)
        return sorted(self._registrations[kind])

    def registrations(self, kind: str) -> list[Registration]:
        """The registrations of ``kind``, sorted by name."""
        self._check_kind(kind)
        return [self._registrations[kind][name] for name in self.names(kind)]

    def get(self, kind: str, name: str) -> Registration:
        """The registration of ``name``; an unknown name lists what exists and the nearest."""
        self._check_kind(kind)
        try:
            return self._registrations[kind][name]
        except KeyError:
            raise UnknownNameError(
                unknown_name_message(
                    kind.rstrip("s"), name, self._registrations[kind], plural=kind
                )
                + f" Install the plugin that provides {name!r} or pick a listed name."
            ) from None

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, name = key
        return name in self._registrations.get(kind, {})

    def params(self, kind: str, name: str, params: Any = None) -> Any:
        """Validate ``params`` (a mapping, a DictConfig, a schema instance or None).

        Returns an instance of the registration's schema; a wrong key or type raises a
        ``ConfigurationError`` naming the component, the key and the value.
        """
        registration = self.get(kind, name)
        schema = registration.schema
        if isinstance(params, schema):
            return params
        if params is None:
            raw: dict[str, Any] = {}
        elif OmegaConf.is_config(params):
            raw = dict(OmegaConf.to_container(params, resolve=True))  # type: ignore[arg-type]
        elif isinstance(params, Mapping):
            raw = dict(params)
        else:
            raise ConfigurationError(
                f"Parameters for {kind.rstrip('s')} {name!r} must be a mapping or a "
                f"{schema.__name__}; got {params!r}."
            )
        if "name" not in {f.name for f in dataclasses.fields(schema)}:
            raw.pop("name", None)  # a Hydra node may carry its option name
        try:
            merged = OmegaConf.merge(OmegaConf.structured(schema), raw)
            return OmegaConf.to_object(merged)
        except OmegaConfBaseException as error:
            fields = [f.name for f in dataclasses.fields(schema)]
            key = getattr(error, "full_key", None)
            detail = (getattr(error, "msg", None) or str(error)).splitlines()[0]
            where = f" at key {key!r}" if key else ""
            raise ConfigurationError(
                f"Bad parameters for {kind.rstrip('s')} {name!r}{where}: {detail}. "
                f"Its parameters are {fields}."
            ) from None

    def build(self, kind: str, name: str, params: Any = None, /, **context: Any) -> Any:
        """Build component ``name`` of ``kind`` from ``params`` and the kind's context."""
        registration = self.get(kind, name)
        return registration.factory(self.params(kind, name, params), **context)


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


def _fail(failure: PluginFailure, failures: list[PluginFailure], strict: bool) -> None:
    if strict:
        raise PluginError(f"{failure} (strict mode: unset {STRICT_ENV} to only warn).")
    warnings.warn(
        f"{failure}. The other plugins were loaded; uninstall or fix it, or disable it with "
        f"{DISABLE_ENV}={failure.plugin}.",
        PluginWarning,
        stacklevel=3,
    )
    failures.append(failure)


def load_registry(
    *,
    strict: bool | None = None,
    disabled: Iterable[str] | None = None,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
    plugins: Iterable[object] = (),
    builtins: bool = True,
) -> Registry:
    """Load every plugin and return the registry.

    Args:
        strict: Turn a failing plugin into an error; default from ``DEEPINN_STRICT_PLUGINS``.
        disabled: Plugin (entry-point) or distribution names to skip; default from
            ``DEEPINN_DISABLE_PLUGINS`` (comma separated).
        entry_points: The entry points to load; default: the installed ``deepinn`` group.
        plugins: Extra plugin objects or modules to register (after the built-ins), e.g. in tests.
        builtins: Register deepinn's own components.

    Returns:
        A fresh :class:`Registry`.

    Raises:
        DuplicateNameError: Two plugins registered one name of one kind.
        PluginError: A plugin failed to load in strict mode, or declares an unknown hook.
    """
    strict = _env_flag(STRICT_ENV) if strict is None else strict
    disabled = _env_list(DISABLE_ENV) if disabled is None else set(disabled)
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(_hookspecs)
    failures: list[PluginFailure] = []
    sources: dict[str, str] = {}  # plugin name -> distribution

    if builtins:
        for module_name in BUILTIN_PLUGINS:
            pm.register(importlib.import_module(module_name), name=module_name)
            sources[module_name] = "deepinn"
    for index, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{index}"
        pm.register(plugin, name=name)
        sources[name] = "(registered in code)"

    eps = _discover_entry_points() if entry_points is None else list(entry_points)
    for entry_point in eps:
        distribution = _distribution_name(entry_point)
        if entry_point.name in disabled or distribution in disabled:
            continue
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
        except Exception as error:  # noqa: BLE001 - a broken plugin must not take the rest down
            _fail(
                PluginFailure(entry_point.name, distribution, f"{type(error).__name__}: {error}"),
                failures,
                strict,
            )
            continue
        sources[entry_point.name] = distribution

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        plugin_name = pm.get_name(error.plugin) if error.plugin is not None else "?"
        distribution = sources.get(plugin_name or "", "?")
        raise PluginError(
            f"deepinn plugin {plugin_name!r} (distribution {distribution!r}) "
            f"declares a hook that does not exist: {error}. Hooks are: "
            f"{', '.join('deepinn_' + kind for kind in KINDS)}."
        ) from None

    registrations: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
    for kind in KINDS:
        caller = getattr(pm.hook, f"deepinn_{kind}")
        # get_hookimpls() is in registration order, so loading is deterministic.
        for impl in caller.get_hookimpls():
            plugin_name = impl.plugin_name
            distribution = sources.get(plugin_name, "?")
            try:
                returned = impl.function() or []
                if isinstance(returned, Registration):
                    raise PluginError(
                        f"deepinn_{kind} returned one Registration ({returned.name!r}), not a "
                        "list; return [Registration(...)]"
                    )
                items = list(returned)
                for item in items:
                    if not isinstance(item, Registration):
                        raise PluginError(
                            f"deepinn_{kind} returned {item!r}; return a list of "
                            "deepinn.plugins.Registration"
                        )
            except Exception as error:  # noqa: BLE001
                if isinstance(error, PluginError) and plugin_name in BUILTIN_PLUGINS:
                    raise
                _fail(
                    PluginFailure(plugin_name, distribution, f"{type(error).__name__}: {error}"),
                    failures,
                    strict,
                )
                continue
            for item in items:
                existing = registrations[kind].get(item.name)
                if existing is not None:
                    raise DuplicateNameError(
                        f"Two plugins register the {kind.rstrip('s')} {item.name!r}: "
                        f"{existing.provider!r} (distribution {existing.distribution!r}) and "
                        f"{plugin_name!r} (distribution {distribution!r}). Uninstall or disable "
                        f"one ({DISABLE_ENV}=<plugin name>) or rename the registration."
                    )
                registrations[kind][item.name] = dataclasses.replace(
                    item, provider=plugin_name, distribution=distribution
                )
    return Registry(registrations, failures, pm)


