"""A configured run's problem and untrained network, rebuilt from its ``.hydra/config.yaml``.

The stored configuration is typed against the schemas of the components it names (the
registry's, so built-in, ``problem=custom`` and plugin components alike) and built as
``deepinn train`` builds it (:func:`deepinn.app.build`). Nothing is trained or sampled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
from omegaconf import DictConfig

from deepinn._errors import ConfigurationError, DeepinnError

if TYPE_CHECKING:
    from deepinn.plugins import Registry
    from deepinn.problems import Problem

__all__ = ["CONFIG_FILE", "rebuild"]

CONFIG_FILE = Path(".hydra") / "config.yaml"
"""Where ``deepinn train`` keeps a run's configuration (Hydra writes it)."""

_NOT_FOR_LOADING = {
    "trainer.accelerator": "cpu", "trainer.devices": 1, "trainer.num_nodes": 1,
    "trainer.strategy": "auto", "resume": None,
}
"""Settings of how the run trained, not of what it trained: a run trained on a GPU or under DDP
loads on any machine."""


def _stored_config(folder: Path) -> Any:
    from omegaconf import OmegaConf

    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ConfigurationError(
            f"load({str(folder)!r}): the run was started from the command line but its "
            f"configuration {str(CONFIG_FILE)!r} is missing. Restore the run's .hydra/ folder, "
            "or pass the problem and an untrained network yourself: load(run, problem=..., "
            "network=...)."
        )
    try:
        config = OmegaConf.load(path)
    except Exception as error:
        detail = " ".join(str(error).split())[:160]
        raise ConfigurationError(
            f"load: {str(path)!r} cannot be read ({detail}); restore it from a copy of the run."
        ) from None
    return config


def _missing_component(
    folder: Path, group: str, name: str, error: DeepinnError
) -> ConfigurationError:
    detail = str(error).rstrip(".")
    return ConfigurationError(
        f"load({str(folder)!r}): the run used {group}={name}, which no installed plugin "
        f"provides ({detail}). Install (or enable) the plugin that provides {group} {name!r} "
        "and load again."
    )


def typed(folder: Path, registry: Registry) -> Any:
    """The run's configuration, typed and checked (a :class:`deepinn.app.TrainConfig`).

    Raises:
        ConfigurationError: The configuration is missing or unreadable, or names a component
            that no installed plugin provides.
    """
    from omegaconf import OmegaConf

    from deepinn.app import GROUPS, typed_config
    from deepinn.app._schema import TrainConfig
    from deepinn.app._store import _node_type
    from deepinn.training import OPTIMIZER_PRESETS

    stored = _stored_config(folder)
    for key, value in _NOT_FOR_LOADING.items():
        OmegaConf.update(stored, key, value, force_add=True)
    if "callbacks" in stored:  # how the run was watched, not what it trained: not rebuilt
        stored["callbacks"] = {}
    base = OmegaConf.structured(TrainConfig)
    for group, kind in GROUPS.items():
        name = str(OmegaConf.select(stored, f"{group}.name", default=""))
        try:
            registration = registry.kind(kind).get(name)
        except DeepinnError as error:
            raise _missing_component(folder, group, name, error) from None
        base[group] = OmegaConf.structured(_node_type(group, name, registration.schema))
    optimizer = str(OmegaConf.select(stored, "optimizer.name", default=""))
    if optimizer in OPTIMIZER_PRESETS:
        base.optimizer = OmegaConf.structured(OPTIMIZER_PRESETS[optimizer])
    try:
        merged = OmegaConf.merge(base, stored)
    except Exception as error:
        detail = " ".join(str(error).split())[:200]
        raise ConfigurationError(
            f"load({str(folder)!r}): its configuration no longer fits the installed components' "
            f"schemas ({detail}). Load it with the deepinn and plugins that trained it, or pass "
            "the problem and an untrained network: load(run, problem=..., network=...)."
        ) from None
    return typed_config(cast(DictConfig, merged))


def rebuild(
    folder: Path, registry: Registry | None
) -> tuple[Problem, torch.nn.Module, dict[str, Any]]:
    """The problem, an untrained network and the plain configuration of the configured run in
    ``folder``."""
    from deepinn.app import build
    from deepinn.app._build import plain
    from deepinn.plugins import load_registry

    registry = registry if registry is not None else load_registry()
    config = typed(folder, registry)
    state = torch.random.get_rng_state()
    try:
        parts = build(config, registry)  # seeds torch's generator: the caller's is restored
    finally:
        torch.random.set_rng_state(state)
    return parts.problem, parts.network, plain(_stored_config(folder))
