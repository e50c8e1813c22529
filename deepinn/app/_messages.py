"""Hydra's and OmegaConf's composition errors as one line each: the key, the value, the fix.

Each error is read from its type and attributes (``MissingConfigException.options``,
``OverrideParseException.override``, an OmegaConf error's ``full_key``, ``value``,
``object_type`` and node), never from its message text. The one thing Hydra keeps only in its
text is the file in which a mistake was found (``In 'experiment/x': ...``).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping

from hydra.errors import MissingConfigException, OverrideParseException
from omegaconf import BooleanNode, FloatNode, IntegerNode, StringNode
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from deepinn._errors import unknown_name_message
from deepinn.app._list_messages import list_group_message

__all__ = ["composition_message", "override_parse_message"]

_EXPECTED: tuple[tuple[type, str], ...] = (
    (BooleanNode, "true or false"),
    (IntegerNode, "an integer"),
    (FloatNode, "a number"),
    (StringNode, "a string"),
)
_ELEMENTS: dict[object, str] = {bool: "true or false", int: "an integer", float: "a number",
                                str: "a string"}


def composition_message(
    error: Exception, values: Mapping[str, str], disabled_note: str = ""
) -> str:
    """The one-line message of an error raised while composing the configuration.

    Args:
        error: What Hydra raised (``ConfigCompositionException`` and its kin).
        values: The overrides' values as typed, by key (``{"seed": "abc"}``).
        disabled_note: Appended to an unknown option: the plugins that are installed but
            disabled (``Registry.disabled_note()``).
    """
    if isinstance(error, OverrideParseException):
        return override_parse_message(error)
    listed = list_group_message(error, values, disabled_note)  # callbacks=[...]
    if listed is not None:
        return listed
    if isinstance(error, MissingConfigException) and error.options is not None:
        group, _, name = str(error.missing_cfg_file).rpartition("/")
        return (
            unknown_name_message(f"{group} option", name, error.options, plural=f"{group} options")
            + f" Choose one with {group}=<name> (deepinn plugins lists the registered "
            "components)." + disabled_note
        )
    cause = error.__cause__
    if isinstance(cause, OmegaConfBaseException):  # an override Hydra could not apply
        return _override_message(cause, values)
    context = error.__context__
    if isinstance(context, OmegaConfBaseException):  # a mistake in a YAML file
        return _in_file_message(context, _file_of(error))
    return " ".join(str(error).split())


def override_parse_message(error: OverrideParseException) -> str:
    """An override Hydra's grammar cannot read, with how to write it."""
    override = error.override
    detail = error.message.splitlines()[0]
    hint = "quote a value with special characters: key='value'"
    key, _, value = override.partition("=")
    if key.lstrip("+~") == "resume" and "=" in value:
        hint = (
            "Lightning's checkpoint names hold '=': use resume=<run folder> "
            f"resume_from=best (or last), or quote the path: resume='{value}'"
        )
    return f"cannot read the override {override!r} ({detail}); {hint}."


def _detail(error: OmegaConfBaseException) -> str:
    return (error.msg or type(error).__name__).splitlines()[0].rstrip(".")


def _expected(error: OmegaConfBaseException) -> str:
    """What the node at the error's key takes: from the node's type, or for an element of a
    typed list or mapping (``List[int]``), from its element type."""
    node = error.child_node
    for node_type, wanted in _EXPECTED:
        if isinstance(node, node_type):
            return wanted
    elements = typing.get_args(error.ref_type) if node is None else ()
    if elements:
        return _ELEMENTS.get(elements[-1], "a valid value")
    return "a valid value"


def _declared(error: OmegaConfBaseException) -> list[str] | None:
    """The keys of the schema the error's key is missing from (None: a mapping, not a schema)."""
    schema = error.object_type
    if isinstance(schema, type) and dataclasses.is_dataclass(schema):
        return [field.name for field in dataclasses.fields(schema)]
    return None


def _new_entry(error: OmegaConfBaseException, values: Mapping[str, str]) -> str | None:
    """A new entry of a typed mapping given whole (``+problem.constraints.start={kind: ...}``):
    OmegaConf assigns only into an existing entry, but merges a mapping into the parent."""
    detached = error.value is None and error.object_type is None  # no node to assign into
    new = isinstance(error, ValidationError) and detached and error.key
    leaf = str(error.key) if new else None
    for key, value in values.items():
        parts = key.split(".")
        if leaf is None or leaf not in parts[1:]:
            continue
        at = parts.index(leaf, 1)
        if at == len(parts) - 1 and not value.lstrip().startswith("{"):
            continue  # a value of the wrong type for an existing key
        parent = ".".join(parts[:at])
        entry = value
        for name in reversed(parts[at + 1:]):
            entry = f"{{{name}: {entry}}}"
        return (
            f"+{key}={value}: {parent} takes a new entry only as a mapping merged into it; write "
            f"+{parent}={{{leaf}: {entry}}} (docs/yaml_pde.md: adding a constraint from the "
            "command line)."
        )
    return None


def _override_message(error: OmegaConfBaseException, values: Mapping[str, str]) -> str:
    new_entry = _new_entry(error, values)
    if new_entry is not None:
        return new_entry
    key = error.full_key or "config"
    value = values.get(key)
    if isinstance(error, (ConfigAttributeError, ConfigKeyError)):
        declared = _declared(error)
        if declared is None:  # a mapping: its keys are added with +
            return _add_with_plus(key, value)
        parent, _, leaf = key.rpartition(".")
        if isinstance(error, ConfigAttributeError):
            where = f" of {parent}" if parent else ""
            return (
                unknown_name_message(f"key{where}", leaf, declared, plural=f"keys{where}",
                                     listed="Valid")
                + " Fix its spelling (a leading + adds a key that does not exist)."
            )
        section = key.partition(".")[0]
        return (
            f"{key}: {_detail(error)}: the {section} chosen has no such key. Leave it out, or "
            f"{_choose_another(key)}."
        )
    expected = _expected(error)
    if value is None and error.value is not None:
        value = str(error.value)
    shown = f"{key}={value}" if value is not None else key
    return (
        f"{shown}: {_detail(error)}. Give {expected}, e.g. "
        f"{key}=<{expected.replace(' ', '_')}>."
    )


def _file_of(error: Exception) -> str | None:
    """The file Hydra names in ``In 'experiment/x': ... raised while composing config``."""
    found = re.match(r"In '([^']+)'", str(error))
    return found.group(1) if found else None


def _in_file_message(error: OmegaConfBaseException, file: str | None) -> str:
    place = f"in {file}.yaml" if file else "in a configuration file"
    key = error.full_key
    if not key:
        return f"{place}: {_detail(error)}."
    if isinstance(error, (ConfigAttributeError, ConfigKeyError)):
        section = key.partition(".")[0]
        fix = (
            f"{key} is not a key of the {section} chosen: fix its spelling, or "
            f"{_choose_another(key)}"
        )
    elif _expected(error) != "a valid value":
        fix = f"give {key} {_expected(error)}"
    else:
        fix = f"fix {key} in that file"
    return f"{place}: {key}: {_detail(error)}; {fix}. (--cfg job shows the composed configuration.)"


def _choose_another(key: str) -> str:
    """The fix for a ``key`` the chosen option lacks: another option of its section has it."""
    section = key.partition(".")[0]
    where = "; docs/yaml_pde.md those of problem=custom" if section == "problem" else ""
    return (
        f"choose another {section} that has it (deepinn show {section} <name> lists its "
        f"keys{where})"
    )


def _add_with_plus(key: str, value: str | None) -> str:
    shown = f"+{key}={value}" if value is not None else f"+{key}=<value>"
    return (
        f"{key} is not set yet, so there is nothing to override: add it with a leading + "
        f"({shown}); a mapping is extended key by key, e.g. +problem.weights.pde=10."
    )
