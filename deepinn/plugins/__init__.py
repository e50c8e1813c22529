"""The plugin system: hooks, registrations and the registry (entry-point group ``deepinn``)."""

from deepinn.plugins._building import PluginFactoryError as PluginFactoryError
from deepinn.plugins._discovery import DISABLE_ENV as DISABLE_ENV
from deepinn.plugins._discovery import STRICT_ENV as STRICT_ENV
from deepinn.plugins._discovery import PluginFailure as PluginFailure
from deepinn.plugins._discovery import PluginWarning as PluginWarning
from deepinn.plugins._hookspecs import hookimpl as hookimpl
from deepinn.plugins._hookspecs import hookspec as hookspec
from deepinn.plugins._kinds import KIND_TABLE as KIND_TABLE
from deepinn.plugins._kinds import KINDS as KINDS
from deepinn.plugins._kinds import Kind as Kind
from deepinn.plugins._kinds import find_kind as find_kind
from deepinn.plugins._listing import format_registry as format_registry
from deepinn.plugins._lookup import KindRegistry as KindRegistry
from deepinn.plugins._registration import Registration as Registration
from deepinn.plugins._registry import Registry as Registry
from deepinn.plugins._registry import load_registry as load_registry

__all__ = [
    "DISABLE_ENV",
    "KINDS",
    "KIND_TABLE",
    "STRICT_ENV",
    "Kind",
    "KindRegistry",
    "PluginFactoryError",
    "PluginFailure",
    "PluginWarning",
    "Registration",
    "Registry",
    "find_kind",
    "format_registry",
    "hookimpl",
    "hookspec",
    "load_registry",
]
