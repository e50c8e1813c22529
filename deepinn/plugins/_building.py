"""Building one registered component: its parameters validated, its factory called and checked.

A factory's own ``DeepinnError`` passes through untouched; any other exception from a third-party
factory becomes a :class:`PluginFactoryError` that names the plugin (deepinn's own factories are
never wrapped). A factory that returns something other than its kind's type is a ``PluginError``.
"""

from __future__ import annotations

import dataclasses
import inspect
import traceback
from collections.abc import Mapping
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from deepinn._errors import ConfigurationError, DeepinnError, PluginError
from deepinn.plugins._discovery import DISABLE_ENV, is_builtin
from deepinn.plugins._kinds import Kind
from deepinn.plugins._registration import Registration

__all__ = ["PluginFactoryError", "build_component", "validate_params"]


class PluginFactoryError(PluginError):
    """A third-party plugin's factory raised an unexpected exception while building a component.

    The original exception is its ``__cause__``. A factory's own ``DeepinnError`` is never
    wrapped.
    """


class _PluginFactoryTypeError(PluginFactoryError, TypeError):
    """A factory's ``TypeError`` (often arguments it does not take), still a ``TypeError``.

    Callers that turn a ``TypeError`` from a factory into "this component does not take what
    was given" (``problem=custom``) catch it as one; its message names the plugin.
    """


def validate_params(what: str, registration: Registration, params: Any) -> Any:
    """``params`` (a mapping, a DictConfig, a schema instance or None) as the schema's instance.

    Args:
        what: The component, for messages (``"domain 'circle'"``).
        registration: Its registration, whose schema the parameters must fit.
        params: The parameters given.

    Raises:
        ConfigurationError: A wrong key or type; names the component, the key and the value.
    """
    schema = registration.schema
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


def _accepted_context(
    registration: Registration, kind: Kind, context: dict[str, Any]
) -> dict[str, Any]:
    """``context`` less the kind's optional keys that the factory does not take."""
    optional = [key for key in kind.optional_context if key in context]
    if not optional:
        return context
    accepted = inspect.signature(registration.factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted):
        return context
    names = {p.name for p in accepted}
    return {k: v for k, v in context.items() if k in names or k not in optional}


def build_component(
    kind: Kind, name: str, registration: Registration, params: Any, context: dict[str, Any]
) -> Any:
    """Call ``registration``'s factory with ``params`` validated and check what it returns.

    Raises:
        ConfigurationError: ``params`` do not fit the component's schema.
        PluginError: The factory returned something that is not of the kind's type.
        PluginFactoryError: A third-party factory raised an exception that is no
            ``DeepinnError``; names the plugin, the component and the exception.
    """
    context = _accepted_context(registration, kind, context)
    validated = validate_params(f"{kind.singular} {name!r}", registration, params)
    try:
        result = registration.factory(validated, **context)
    except DeepinnError:
        raise  # raised on purpose: its message is the plugin's
    except Exception as error:
        if is_builtin(registration):
            raise
        raise _factory_error(kind, name, registration, error) from error
    expected = kind.result_type()
    valid = callable(result) if expected is None else isinstance(result, expected)
    if not valid:
        wanted = "a callable" if expected is None else f"a {expected.__name__}"
        raise PluginError(
            f"The factory of {kind.singular} {name!r} (plugin {registration.provider!r}, "
            f"distribution {registration.distribution!r}) returned {result!r} of type "
            f"{type(result).__name__}, not {wanted}. Fix the plugin: the factory must be "
            f"{kind.factory}."
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
