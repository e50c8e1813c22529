"""The callbacks a run is given: Lightning callback objects, or registered callbacks by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import lightning.pytorch as pl

from deepinn._errors import ConfigurationError

if TYPE_CHECKING:
    from deepinn.plugins import Registry

__all__ = ["CallbackChoice", "chosen_callbacks"]

CallbackChoice = Union[
    Sequence[Union[pl.Callback, str]], Mapping[str, Any], pl.Callback, str, None
]
"""What ``fit(callbacks=...)`` takes: a callback object or a registered callback's name, a
list of those, or a mapping of registered names to their parameters (a mapping, a schema
instance or None for the defaults), as ``callbacks.<name>.<parameter>`` on the command line."""


def _refused(item: object) -> ConfigurationError:
    return ConfigurationError(
        f"fit: callbacks holds {item!r}, a {type(item).__name__}: give lightning.pytorch."
        "Callback objects or registered callback names (deepinn plugins --kind callbacks lists "
        "them), e.g. callbacks=['early_stop'] or callbacks={'early_stop': {'patience': 200}}."
    )


def chosen_callbacks(
    callbacks: CallbackChoice, registry: Registry | None = None
) -> list[pl.Callback]:
    """``callbacks`` as Lightning callbacks, in the order given: objects as they are, names
    built by the registry (the installed plugins' when ``registry`` is None) with their
    parameters.

    Raises:
        ConfigurationError: An item is neither a callback nor a name, or bad parameters.
        UnknownNameError: No plugin registers a name (lists the registered callbacks and the
            nearest; a disabled plugin's callback is named as disabled).
    """
    if callbacks is None:
        return []
    if isinstance(callbacks, (pl.Callback, str)):
        callbacks = [callbacks]
    chosen: list[tuple[str, Any] | pl.Callback] = []
    if isinstance(callbacks, Mapping):
        for name, params in callbacks.items():
            if not isinstance(name, str):
                raise _refused(name)
            chosen.append((name, params))
    else:
        for item in callbacks:
            if isinstance(item, pl.Callback):
                chosen.append(item)
            elif isinstance(item, str):
                chosen.append((item, None))
            else:
                raise _refused(item)
    built: list[pl.Callback] = []
    for choice in chosen:
        if isinstance(choice, pl.Callback):
            built.append(choice)
            continue
        if registry is None:
            from deepinn.plugins import load_registry

            registry = load_registry()
        name, params = choice
        built.append(registry.callbacks.build(name, params))
    return built
