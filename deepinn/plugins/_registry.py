"""The typed registry facade between the core and pluggy.

``load_registry()`` is the one explicit call that loads plugins: the built-in plugins first, then
the ``deepinn`` entry points sorted by distribution and name, so every process (every DDP rank)
gets the same registry. Core code asks the :class:`Registry`, never ``pm.hook`` directly.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from deepinn._errors import (
    ConfigurationError,
    DeepinnError,
    DuplicateNameError,
    PluginError,
    UnknownNameError,
    unknown_name_message,
)
from deepinn.plugins import _hookspecs
from deepinn.plugins._checks import name_problems, problems_text, returned_problem, unknown_hooks
from deepinn.plugins._hookspecs import PROJECT_NAME
from deepinn.plugins._kinds import KIND_TABLE, Kind, find_kind
from deepinn.plugins._registration import Registration

if TYPE_CHECKING:
    import torch

    from deepinn.constraints import AbstractConstraint
    from deepinn.domains import AbstractDomain
    from deepinn.problems import Problem
    from deepinn.samplers import AbstractSampler
    from deepinn.spaces import Space

__all__ = [
    "BUILTIN_PLUGINS",
    "DISABLE_ENV",
    "STRICT_ENV",
    "KindRegistry",
    "PluginFactoryError",
    "PluginFailure",
    "PluginWarning",
    "Registry",
    "load_registry",
]

ENTRY_POINT_GROUP = PROJECT_NAME
STRICT_ENV = "DEEPINN_STRICT_PLUGINS"
DISABLE_ENV = "DEEPINN_DISABLE_PLUGINS"

BUILTIN_PROVIDER = "deepinn"
"""The provider part of the qualified name of deepinn's own components (``deepinn:circle``)."""

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


class PluginFactoryError(PluginError):
    """A third-party plugin's factory raised an unexpected exception while building a component.

    The original exception is its ``__cause__``. A factory's own ``DeepinnError`` is never
    wrapped.
    """


class _PluginFactoryTypeError(PluginFactoryError, TypeError):
    """A factory's ``TypeError`` (often arguments it does not take), still a ``TypeError``.

    Callers that turn a ``TypeError`` from a factory into "this component does not take what
    was given" (``problem=custom``) keep doing so, now with the plugin named in the message.
    """


def is_builtin(registration: Registration) -> bool:
    """Whether deepinn's own built-in plugins registered it."""
    return registration.provider in BUILTIN_PLUGINS


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


T = TypeVar("T")


class KindRegistry(Generic[T]):
    """The registered components of one kind: look up, validate parameters, build.

    Reached through the registry's typed accessors (``registry.domains``, ``registry.networks``,
    ...), so callers never pass kind strings.
    """

    def __init__(
        self,
        kind: Kind,
        registrations: Mapping[str, Registration | Sequence[Registration]],
        disabled_note: str = "",
    ) -> None:
        self.kind = kind
        self.disabled_note = disabled_note
        self._by_name: dict[str, list[Registration]] = {
            name: [found] if isinstance(found, Registration) else list(found)
            for name, found in registrations.items()
        }

    def names(self) -> list[str]:
        """The registered names, sorted (a name two plugins register appears once)."""
        return sorted(self._by_name)

    def registrations(self) -> list[Registration]:
        """Every registration, sorted by name (then by provider)."""
        return [found for name in self.names() for found in self._by_name[name]]

    def duplicates(self) -> dict[str, list[Registration]]:
        """The names more than one plugin registers, with their registrations."""
        return {name: found for name, found in self._by_name.items() if len(found) > 1}

    @staticmethod
    def qualified(registration: Registration) -> str:
        """``provider:name`` (``deepinn:name`` for deepinn's own), which always selects this one
        registration."""
        provider = BUILTIN_PROVIDER if is_builtin(registration) else registration.provider
        return f"{provider}:{registration.name}"

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except PluginError:
            return False
        return True

    def _unknown(self, name: str) -> UnknownNameError:
        return UnknownNameError(
            unknown_name_message(self.kind.singular, name, self._by_name, plural=self.kind.name)
            + f" Install the plugin that provides {name!r} or pick a listed name."
            + self.disabled_note
        )

    def get(self, name: str) -> Registration:
        """The registration of ``name`` (or of ``provider:name``).

        Raises:
            UnknownNameError: Nothing is registered under ``name``; lists what is and the nearest.
            DuplicateNameError: Two plugins register the bare ``name``; names both and their
                qualified forms, which always work.
        """
        provider, _, bare = name.rpartition(":")
        found = self._by_name.get(bare)
        if not found:
            raise self._unknown(bare)
        if provider:
            for registration in found:
                if name in (f"{registration.provider}:{bare}", self.qualified(registration)):
                    return registration
            providers = ", ".join(repr(self.qualified(r)) for r in found)
            raise UnknownNameError(
                f"No plugin {provider!r} registers the {self.kind.singular} {bare!r}; it is "
                f"registered as {providers}."
            )
        if len(found) > 1:
            providers = " and ".join(
                f"{r.provider!r} (distribution {r.distribution!r})" for r in found
            )
            choices = " or ".join(
                f"{self.kind.group}={self.qualified(r)}" if self.kind.group else self.qualified(r)
                for r in found
            )
            others = [r.provider for r in found if not is_builtin(r)]
            raise DuplicateNameError(
                f"Two plugins register the {self.kind.singular} {bare!r}: {providers}. Choose "
                f"one by its qualified name ({choices}), or disable "
                + (
                    f"the other plugin ({DISABLE_ENV}={others[0]})"
                    if len(others) == 1
                    else f"one ({DISABLE_ENV}=<plugin name>)"
                )
                + "."
            )
        return found[0]

    def params(self, name: str, params: Any = None) -> Any:
        """Validate ``params`` (a mapping, a DictConfig, a schema instance or None).

        Returns an instance of the registration's schema; a wrong key or type raises a
        ``ConfigurationError`` naming the component, the key and the value.
        """
        registration = self.get(name)
        schema = registration.schema
        what = f"{self.kind.singular} {name!r}"
        if isinstance(params, schema):
            return params
        if params is None:
            raw: dict[Any, Any] = {}
        elif OmegaConf.is_config(params):
            container = OmegaConf.to_container(params, resolve=True)
            raw = dict(container) if isinstance(container, dict) else {}
        elif isinstance(params, Mapping):
            raw = dict(params)
        else:
            raise ConfigurationError(
                f"Parameters for {what} must be a mapping or a {schema.__name__}; got {params!r}."
            )
        raw.pop("name", None)  # a Hydra node carries its option name (schemas have no `name`)
        try:
            merged = OmegaConf.merge(OmegaConf.structured(schema), raw)
            return OmegaConf.to_object(merged)
        except OmegaConfBaseException as error:
            fields = [f.name for f in dataclasses.fields(schema)]
            key = getattr(error, "full_key", None)
            detail = (getattr(error, "msg", None) or str(error)).splitlines()[0]
            where = f" at key {key!r}" if key else ""
            raise ConfigurationError(
                f"Bad parameters for {what}{where}: {detail}. Its parameters are {fields}."
            ) from None

    def build(self, name: str, params: Any = None, /, **context: Any) -> T:
        """Build component ``name`` from ``params`` and the kind's context.

        Raises:
            UnknownNameError: No plugin registered ``name``.
            ConfigurationError: ``params`` do not fit the component's schema.
            PluginError: The factory returned something that is not of the kind's type.
            PluginFactoryError: A plugin's factory raised an exception that is no
                ``DeepinnError`` (a bug in the plugin); names the plugin, the component and
                the exception.
        """
        registration = self.get(name)
        optional = [key for key in self.kind.optional_context if key in context]
        if optional:
            accepted = inspect.signature(registration.factory).parameters.values()
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted):
                names = {p.name for p in accepted}
                context = {k: v for k, v in context.items() if k in names or k not in optional}
        validated = self.params(name, params)
        try:
            result = registration.factory(validated, **context)
        except DeepinnError:
            raise  # raised on purpose: its message is the plugin's
        except Exception as error:
            if is_builtin(registration):
                raise
            raise _factory_error(self.kind, name, registration, error) from error
        expected = self.kind.result_type()
        valid = callable(result) if expected is None else isinstance(result, expected)
        if not valid:
            wanted = "a callable" if expected is None else f"a {expected.__name__}"
            raise PluginError(
                f"The factory of {self.kind.singular} {name!r} (plugin {registration.provider!r}, "
                f"distribution {registration.distribution!r}) returned {result!r} of type "
                f"{type(result).__name__}, not {wanted}. Fix the plugin: the factory must be "
                f"{self.kind.factory}."
            )
        return result


def _factory_error(
    kind: Kind, name: str, registration: Registration, error: Exception
) -> PluginFactoryError:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    cls = _PluginFactoryTypeError if isinstance(error, TypeError) else PluginFactoryError
    return cls(
        f"The factory of {kind.singular} {name!r} (plugin {registration.provider!r}, "
        f"distribution {registration.distribution!r}) raised {type(error).__name__}: "
        f"{error}{where}. The fix is in that plugin (report it to its authors), or choose "
        f"another {kind.singular}, or disable the plugin with "
        f"{DISABLE_ENV}={registration.provider}."
    )


class Registry:
    """Every registered component, by kind and name.

    Build one with :func:`load_registry`; it holds its own plugin manager, so registries never
    leak between tests or runs. Use the typed accessors (``registry.domains.build(name,
    params)``); the string forms (``registry.build("domains", name)``) remain for plugin code.
    """

    def __init__(
        self,
        registrations: Mapping[str, Mapping[str, Registration | Sequence[Registration]]],
        failures: Sequence[PluginFailure] = (),
        plugin_manager: pluggy.PluginManager | None = None,
        disabled: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.disabled: tuple[tuple[str, str], ...] = tuple(disabled)
        """The (plugin, distribution) pairs that were installed but disabled."""
        self.notes: tuple[str, ...] = ()
        """Warnings from loading that are not a plugin failure (a disabled name that is no
        installed plugin)."""
        self._kinds: dict[str, KindRegistry[Any]] = {
            kind.name: KindRegistry(kind, registrations.get(kind.name, {}), self.disabled_note())
            for kind in KIND_TABLE
        }
        self.failures: tuple[PluginFailure, ...] = tuple(failures)
        self.plugin_manager = plugin_manager

    def disabled_note(self) -> str:
        """A sentence naming the disabled plugins (empty when none is), for unknown-name errors."""
        if not self.disabled:
            return ""
        names = ", ".join(f"{plugin} ({distribution})" for plugin, distribution in self.disabled)
        return (
            f" Installed but disabled ({DISABLE_ENV} or --disable): {names}; a component of a "
            "disabled plugin is not available until it is enabled again."
        )

    def kind(self, kind: str) -> KindRegistry[Any]:
        """The components of ``kind`` (plural, singular or config-group name)."""
        return self._kinds[find_kind(kind).name]

    @property
    def spaces(self) -> KindRegistry[Space]:
        return self._kinds["spaces"]

    @property
    def domains(self) -> KindRegistry[AbstractDomain]:
        return self._kinds["domains"]

    @property
    def samplers(self) -> KindRegistry[AbstractSampler]:
        return self._kinds["samplers"]

    @property
    def constraints(self) -> KindRegistry[AbstractConstraint]:
        return self._kinds["constraints"]

    @property
    def operators(self) -> KindRegistry[Callable[..., Any]]:
        return self._kinds["operators"]

    @property
    def networks(self) -> KindRegistry[torch.nn.Module]:
        return self._kinds["networks"]

    @property
    def problems(self) -> KindRegistry[Problem]:
        return self._kinds["problems"]

    def names(self, kind: str) -> list[str]:
        """The registered names of ``kind``, sorted."""
        return self.kind(kind).names()

    def registrations(self, kind: str) -> list[Registration]:
        """The registrations of ``kind``, sorted by name."""
        return self.kind(kind).registrations()

    def get(self, kind: str, name: str) -> Registration:
        """The registration of ``name``; an unknown name lists what exists and the nearest."""
        return self.kind(kind).get(name)

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, name = key
        return kind in self._kinds and name in self._kinds[kind]

    def params(self, kind: str, name: str, params: Any = None) -> Any:
        """Validate ``params`` for component ``name`` of ``kind``.

        See :meth:`KindRegistry.params`.
        """
        return self.kind(kind).params(name, params)

    def build(self, kind: str, name: str, params: Any = None, /, **context: Any) -> Any:
        """Build component ``name`` of ``kind``; see :meth:`KindRegistry.build`."""
        return self.kind(kind).build(name, params, **context)


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
        warnings.warn(message, PluginWarning, stacklevel=3)
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


def _fail(failure: PluginFailure, failures: list[PluginFailure], strict: tuple[bool, str]) -> None:
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
        stacklevel=3,
    )
    failures.append(failure)


IN_CODE = "(registered in code)"
"""The distribution shown for a plugin passed to ``load_registry(plugins=...)``."""


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

    A plugin is loaded all or nothing: one that fails to import, marks a function that is no
    hook with ``@hookimpl``, has a hook that raises or returns something other than a list of
    :class:`Registration`, builds an invalid ``Registration`` or registers one name twice in a
    kind contributes nothing, and is reported once with every problem (a
    :class:`PluginWarning`; a ``PluginError`` in strict mode). A name two plugins register
    (deepinn's own included) is kept under both (``provider:name``, ``deepinn:name``, selects
    one); choosing the bare name is then an error naming both (:meth:`KindRegistry.get`).

    Raises:
        PluginError: A plugin failed to load in strict mode.
    """
    mode = _strict_mode(strict)
    disabled = _env_list(DISABLE_ENV) if disabled is None else set(disabled)
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(_hookspecs)
    failures: list[PluginFailure] = []
    candidates: list[tuple[str, str, object]] = []  # (plugin name, distribution, plugin)

    if builtins:
        for module_name in BUILTIN_PLUGINS:
            candidates.append((module_name, "deepinn", importlib.import_module(module_name)))
    for index, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{index}"
        candidates.append((name, IN_CODE, plugin))

    eps = _discover_entry_points() if entry_points is None else list(entry_points)
    notes = _check_disabled_names(disabled, eps)
    skipped: list[tuple[str, str]] = []
    for entry_point in eps:
        distribution = _distribution_name(entry_point)
        if entry_point.name in disabled or distribution in disabled:
            skipped.append((entry_point.name, distribution))
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:
            failure = PluginFailure(
                entry_point.name, distribution, f"{type(error).__name__}: {error}"
            )
            _fail(failure, failures, mode)
            continue
        candidates.append((entry_point.name, distribution, plugin))

    registrations: dict[str, dict[str, list[Registration]]] = {
        kind.name: {} for kind in KIND_TABLE
    }
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
            _fail(failure, failures, mode)
            continue
        for kind, item in found:
            registrations[kind.name].setdefault(item.name, []).append(
                dataclasses.replace(item, provider=plugin_name, distribution=distribution)
            )
    registry = Registry(registrations, failures, pm, skipped)
    registry.notes = tuple(notes)
    return registry
