"""The one table of component kinds: hook, config group, factory protocol and result type.

Everything that needs the list of kinds (the hookspecs' names, the registry, the Hydra config
groups, the command line, the listing) reads :data:`KIND_TABLE`; nothing else spells them out.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from deepinn._errors import UnknownNameError, unknown_name_message

__all__ = ["KINDS", "KIND_TABLE", "Kind", "find_kind"]


@dataclass(frozen=True)
class Kind:
    """One kind of component.

    Attributes:
        name: The plural name, used in the hook (``deepinn_<name>``) and by the registry.
        singular: How messages name one component of this kind.
        group: The Hydra config group that selects one by name (``domain=circle``), or None
            when the kind is not chosen as one option (it is used by name inside other
            components' configuration, e.g. constraints and operators in ``problem=custom``,
            or several are chosen at once: ``list_group``).
        factory: The factory's call signature, as plugins must implement it.
        result: ``"module:Class"``, the type every factory of this kind must return
            (``"callable"`` for operators, which return a function).
        optional_context: Context the service offers that a factory may accept or not: it
            is passed only to factories whose signature names it (or takes ``**kwargs``).
        list_group: The Hydra config group that selects any number by name at once
            (``callbacks=[early_stop,my_figure]``), each configured under ``<group>.<name>``
            (``callbacks.early_stop.patience=200``), or None.
    """

    name: str
    singular: str
    group: str | None
    factory: str
    result: str
    optional_context: tuple[str, ...] = ()
    list_group: str | None = None

    @property
    def hook(self) -> str:
        """The hook a plugin implements to register this kind."""
        return f"deepinn_{self.name}"

    def result_type(self) -> type | None:
        """The class a factory must return (None: any callable), imported on first use."""
        if self.result == "callable":
            return None
        module_name, _, class_name = self.result.partition(":")
        result: type = getattr(importlib.import_module(module_name), class_name)
        return result


KIND_TABLE: tuple[Kind, ...] = (
    Kind("spaces", "space", None, "factory(params) -> Space", "deepinn.spaces:Space"),
    Kind(
        "domains", "domain", "domain", "factory(params) -> AbstractDomain",
        "deepinn.domains:AbstractDomain",
    ),
    Kind(
        "samplers", "sampler", "sampler",
        "factory(params, domain, n_points, seed) -> AbstractSampler",
        "deepinn.samplers:AbstractSampler",
    ),
    Kind(
        "constraints", "constraint", None, "factory(params, **context) -> AbstractConstraint",
        "deepinn.constraints:AbstractConstraint",
    ),
    Kind("operators", "operator", None, "factory(params) -> callable", "callable"),
    Kind(
        "networks", "network", "net",
        "factory(params, in_dim, out_dim, bounds[, coordinates]) -> nn.Module",
        "torch.nn:Module", ("coordinates",),
    ),
    Kind(
        "problems", "problem", "problem",
        "factory(params, domain, make_sampler[, registry]) -> Problem",
        "deepinn.problems:Problem", ("registry",),
    ),
    Kind(
        "callbacks", "callback", None, "factory(params) -> lightning.pytorch.Callback",
        "lightning.pytorch:Callback", list_group="callbacks",
    ),
)
"""Every kind of component, in the order they are loaded and listed."""

KINDS: tuple[str, ...] = tuple(kind.name for kind in KIND_TABLE)
"""The kinds' plural names (``"domains"``), in table order."""


def find_kind(value: str) -> Kind:
    """The kind named ``value``: its plural, singular or config-group name.

    Raises:
        UnknownNameError: No kind has that name; the message lists the kinds.
    """
    for kind in KIND_TABLE:
        if value in (kind.name, kind.singular, kind.group, kind.list_group):
            return kind
    raise UnknownNameError(unknown_name_message("kind", value, KINDS, listed="Valid"))
