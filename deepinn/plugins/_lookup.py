"""Looking up the registered components of one kind by name.

A name is bare (``circle``) or qualified by its provider (``my_plugin:circle``; ``deepinn:circle``
for deepinn's own), and the qualified form always selects one registration. No silent last-wins:
a bare name two plugins register is an error naming both and their qualified forms; an unknown
name is an error listing what exists and the nearest name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from deepinn._errors import (
    DuplicateNameError,
    PluginError,
    UnknownNameError,
    unknown_name_message,
)
from deepinn.plugins._building import build_component, validate_params
from deepinn.plugins._discovery import DISABLE_ENV, is_builtin
from deepinn.plugins._kinds import Kind
from deepinn.plugins._registration import Registration

__all__ = ["BUILTIN_PROVIDER", "KindRegistry"]

BUILTIN_PROVIDER = "deepinn"
"""The provider part of the qualified name of deepinn's own components (``deepinn:circle``)."""

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

    def _duplicate(self, bare: str, found: Sequence[Registration]) -> DuplicateNameError:
        providers = " and ".join(f"{r.provider!r} (distribution {r.distribution!r})" for r in found)
        group, several = self.kind.group, self.kind.list_group
        choices = " or ".join(
            f"{group}={self.qualified(r)}" if group
            else f"{several}=[{self.qualified(r)}]" if several
            else self.qualified(r)
            for r in found
        )
        others = [r.provider for r in found if not is_builtin(r)]
        return DuplicateNameError(
            f"Two plugins register the {self.kind.singular} {bare!r}: {providers}. Choose "
            f"one by its qualified name ({choices}), or disable "
            + (
                f"the other plugin ({DISABLE_ENV}={others[0]})"
                if len(others) == 1
                else f"one ({DISABLE_ENV}=<plugin name>)"
            )
            + "."
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
            raise self._duplicate(bare, found)
        return found[0]

    def params(self, name: str, params: Any = None) -> Any:
        """Validate ``params`` (a mapping, a DictConfig, a schema instance or None).

        Returns an instance of the registration's schema; a wrong key or type raises a
        ``ConfigurationError`` naming the component, the key and the value.
        """
        return validate_params(f"{self.kind.singular} {name!r}", self.get(name), params)

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
        result: T = build_component(self.kind, name, self.get(name), params, context)
        return result
