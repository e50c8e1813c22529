"""Registrations and presets become Hydra config groups (ConfigStore), one typed node each."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from deepinn.app._schema import TrainConfig
from deepinn.plugins import KIND_TABLE, Registration, Registry
from deepinn.training import OPTIMIZER_PRESETS

__all__ = ["GROUPS", "LIST_GROUPS", "SCHEMA_NAME", "compose", "register_configs"]

GROUPS: dict[str, str] = {kind.group: kind.name for kind in KIND_TABLE if kind.group is not None}
"""Hydra config group -> registry kind, read from the kind table."""

LIST_GROUPS: dict[str, str] = {
    kind.list_group: kind.name for kind in KIND_TABLE if kind.list_group is not None
}
"""Hydra config groups that choose several options at once (``callbacks=[a,b]``) -> registry
kind; option ``<name>`` is stored under ``<group>.<name>``."""

SCHEMA_NAME = "train_schema"
"""The ConfigStore name of :class:`TrainConfig`, first in ``conf/train.yaml``'s defaults."""


def _node_type(group: str, name: str, schema: type) -> type:
    """The schema plus a ``name`` field holding the option's registered name."""
    return dataclasses.make_dataclass(
        f"{schema.__name__}__{group}_{name.replace(':', '__')}",
        [("name", str, dataclasses.field(default=name))],
        bases=(schema,),
    )


def register_configs(registry: Registry, store: ConfigStore | None = None) -> None:
    """Store the run schema, every registration and every optimizer preset in ConfigStore."""
    store = store or ConfigStore.instance()
    store.store(name=SCHEMA_NAME, node=TrainConfig, provider="deepinn")
    for group, kind in GROUPS.items():
        for registration in registry.kind(kind).registrations():
            for name in _names(registry, kind, registration):
                store.store(
                    group=group,
                    name=name,
                    node=_node_type(group, name, registration.schema),
                    provider=registration.provider,
                )
    for group, kind in LIST_GROUPS.items():
        for registration in registry.kind(kind).registrations():
            # qualified names are keyed as provider__name: a ':' cannot be part of a key
            for name in _names(registry, kind, registration):
                store.store(
                    group=group,
                    name=name,
                    node=_node_type(group, name, registration.schema),
                    package=f"{group}.{name.replace(':', '__')}",
                    provider=registration.provider,
                )
    for name, preset in OPTIMIZER_PRESETS.items():
        store.store(group="optimizer", name=name, node=preset, provider="deepinn")


def _names(registry: Registry, kind: str, registration: Registration) -> list[str]:
    """The options of ``registration``: its name, or, when two plugins register it, its
    qualified name (``provider:name``, which selects it) and, for the first of them, the bare
    name too (still an option, and building it names both)."""
    components = registry.kind(kind)
    if registration.name not in components.duplicates():
        return [registration.name]
    first = registration is components.duplicates()[registration.name][0]
    return [components.qualified(registration)] + ([registration.name] if first else [])


def compose(overrides: Sequence[str] = (), config_dir: str | None = None) -> DictConfig:
    """The configuration ``deepinn train <overrides>`` would run (Hydra's compose API).

    Call :func:`register_configs` first. ``config_dir`` adds a folder of the user's YAML files
    (like ``--config-dir``).
    """
    from pathlib import Path

    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    extra = [] if config_dir is None else [f"hydra.searchpath=[file://{Path(config_dir).resolve()}]"]
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="deepinn.conf", version_base=None):
        return hydra_compose(config_name="train", overrides=[*extra, *overrides])
