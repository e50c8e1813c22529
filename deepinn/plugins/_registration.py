"""What a hook returns: one named component with its factory and parameter schema."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

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
        if dataclasses.is_dataclass(self.schema) and not isinstance(self.schema, type):
            cls = type(self.schema).__name__
            raise PluginError(
                f"Registration {self.name!r}: schema {self.schema!r} is an instance; pass the "
                f"class {cls}, not an instance ({cls}()): Registration({self.name!r}, factory, "
                f"{cls}, summary)."
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
        _check_structured(self.name, self.schema)


def _check_structured(name: str, schema: type) -> None:
    """Refuse a schema Hydra cannot use as a structured config, or with a field without a default.

    Hydra turns every schema into a config node when ``deepinn train`` starts, so a schema
    OmegaConf cannot type would stop every run, whatever components it chooses.
    """
    problem = _structured_problem(schema)
    if problem is not None:
        raise PluginError(f"Registration {name!r}: {problem}")


@functools.cache
def _structured_problem(schema: type) -> str | None:
    """What keeps ``schema`` from being a structured config with defaults (None: nothing).

    Cached per class: every registry load builds the same registrations again.
    """
    try:
        node = OmegaConf.structured(schema)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        detail = str(getattr(error, "msg", None) or error).splitlines()[0]
        return (
            f"schema {schema.__name__} field {key!r} cannot be a Hydra structured config "
            f"({detail}). Annotate it with a type OmegaConf supports (int, float, bool, str, an "
            "Enum, Optional[...], list[...] or dict[str, ...] of those, a nested dataclass) or "
            "with Any, and build richer objects in the factory."
        )
    missing = sorted(OmegaConf.missing_keys(node))
    if missing:
        fields = ", ".join(repr(key) for key in missing)
        return (
            f"schema {schema.__name__} field(s) {fields} have no default; give every field a "
            "default (field(default_factory=...) for lists and dicts) so the bare option works."
        )
    return None
