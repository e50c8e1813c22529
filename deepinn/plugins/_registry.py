"""The typed registry facade between the core and pluggy.

``load_registry()`` is the one explicit call that loads plugins (see ``_discovery`` for the order
and the failure policy), so every process (every DDP rank) gets the same registry. Core code asks
the :class:`Registry` through its typed accessors, never ``pm.hook`` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from deepinn.plugins._discovery import DISABLE_ENV, PluginFailure, load_plugins
from deepinn.plugins._kinds import KIND_TABLE, find_kind
from deepinn.plugins._lookup import KindRegistry
from deepinn.plugins._registration import Registration

if TYPE_CHECKING:
    import lightning.pytorch as pl
    import torch

    from deepinn.constraints import AbstractConstraint
    from deepinn.domains import AbstractDomain
    from deepinn.problems import Problem
    from deepinn.samplers import AbstractSampler
    from deepinn.spaces import Space

__all__ = ["Registry", "load_registry"]


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

    @property
    def callbacks(self) -> KindRegistry[pl.Callback]:
        return self._kinds["callbacks"]

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
    loaded = load_plugins(
        strict=strict,
        disabled=disabled,
        entry_points=entry_points,
        plugins=plugins,
        builtins=builtins,
    )
    registry = Registry(
        loaded.registrations, loaded.failures, loaded.plugin_manager, loaded.disabled
    )
    registry.notes = tuple(loaded.notes)
    return registry
