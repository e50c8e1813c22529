"""Registrations and presets become Hydra config groups (ConfigStore), one typed node each."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from deepinn.app._schema import TrainConfig
from deepinn.plugins import KIND_TABLE, Registry
from deepinn.training import OPTIMIZER_PRESETS

__all__ = ["GROUPS", "SCHEMA_NAME", "compose", "register_configs"]

GROUPS: dict[str, str] = {kind.group: kind.name for kind in KIND_TABLE if kind.group is not None}
"""Hydra config group -> registry kind, read from the kind table."""

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
        components = registry.kind(kind)
        duplicates = components.duplicates()
        for registration in components.registrations():
            # A bare name two plugins register is still an option, and building it names both;
            # each one's qualified name (provider:name) selects it.
            names = [registration.name] if registration.name not in duplicates else []
            if registration.name in duplicates:
                names.append(components.qualified(registration))
                if registration is duplicates[registration.name][0]:
                    names.append(registration.name)
            for name in names:
                store.store(
                    group=group,
                    name=name,
                    node=_node_type(group, name, registration.schema),
                    provider=registration.provider,
                )
    for name, preset in OPTIMIZER_PRESETS.items():
        store.store(group="optimizer", name=name, node=preset, provider="deepinn")


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
