"""Composition errors about the groups that choose several options (``callbacks=[a,b]``).

Hydra names no options when a name in a list is unknown, and a parameter of an option that is
not chosen reads to OmegaConf as a key to add; both are answered here with the options and the
form that works. ``trainer.callbacks`` is pointed to the group.
"""

from __future__ import annotations

from collections.abc import Mapping

from hydra.core.config_store import ConfigStore
from hydra.errors import MissingConfigException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from deepinn._errors import unknown_name_message
from deepinn.app._schema import CALLBACKS_HINT
from deepinn.app._store import LIST_GROUPS

__all__ = ["list_group_message"]


def _options(group: str) -> list[str]:
    """The options stored in ConfigStore for ``group`` (registered names)."""
    try:
        found = ConfigStore.instance().list(group)
    except OSError:  # no such group
        return []
    return sorted(name.removesuffix(".yaml") for name in found)


def _syntax(group: str, name: str = "<name>") -> str:
    return f"{group}=[{name}] (several: {group}=[{name},<other>])"


def list_group_message(
    error: Exception, values: Mapping[str, str], disabled_note: str = ""
) -> str | None:
    """The message of ``error`` when it concerns a list group or ``trainer.callbacks``
    (None: another error; ``values``: the overrides' values by key)."""
    if isinstance(error, MissingConfigException) and error.options is None:
        group, _, name = str(error.missing_cfg_file).rpartition("/")
        if group in LIST_GROUPS:
            return (
                unknown_name_message(f"{group} option", name, _options(group),
                                     plural=f"{group} options")
                + f" Choose with {_syntax(group)} (deepinn plugins --kind {LIST_GROUPS[group]} "
                "lists the registered ones)." + disabled_note
            )
    cause = error.__cause__
    if not isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
        return None
    key = cause.full_key if isinstance(cause, OmegaConfBaseException) else ""
    if key == "trainer.callbacks":
        return f"trainer.callbacks is not a key of trainer. {CALLBACKS_HINT}"
    group, _, rest = (key or "").partition(".")
    name = rest.partition(".")[0]
    if group in LIST_GROUPS and name and isinstance(cause, ConfigKeyError):
        given = [k for k in values if k == key or k.startswith(f"{key}.")]
        shown = f"{given[0]}={values[given[0]]}" if given else key
        return (
            f"{shown}: no {group} option {name!r} is chosen, so it has no parameters to set. "
            f"Choose it with {_syntax(group, name)} and keep {shown}."
        )
    return None
