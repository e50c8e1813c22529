"""What a hook returns: one named component with its factory and parameter schema."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deepinn._errors import PluginError

__all__ = ["Registration"]


@dataclass(frozen=True)
class Registration:
    """One component a plugin provides.

    Attributes:
        name: Unique name within its kind; the Hydra option (``domain=<name>``).
        factory: Builds the component from an instance of ``schema`` (plus the kind's context).
        schema: A dataclass of the component's parameters, also its Hydra structured config.
        summary: One line shown by ``deepinn plugins``.
        provider: Filled in by the registry: the plugin that registered it.
        distribution: Filled in by the registry: the installed distribution, if any.
    """

    name: str
    factory: Callable[..., Any]
    schema: type
    summary: str
    provider: str = field(default="", compare=False)
    distribution: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.replace("_", "a").isalnum():
            raise PluginError(
                f"Registration name {self.name!r} must be a non-empty string of letters, digits "
                "and underscores (it becomes a Hydra option)."
            )
        if not dataclasses.is_dataclass(self.schema) or not isinstance(self.schema, type):
            raise PluginError(
                f"Registration {self.name!r}: schema {self.schema!r} must be a dataclass type "
                "(decorate the parameter class with @dataclasses.dataclass)."
            )
        if "name" in {f.name for f in dataclasses.fields(self.schema)}:
            raise PluginError(
                f"Registration {self.name!r}: schema {self.schema.__name__} has a field called "
                "'name', which the config node uses for the option's registered name; rename "
                "the field (e.g. 'label')."
            )
        if not callable(self.factory):
            raise PluginError(
                f"Registration {self.name!r}: factory {self.factory!r} is not callable."
            )
