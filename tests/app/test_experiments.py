"""The packaged experiments: each composes to the configuration it was tuned with, and sets
only what differs from the defaults it would get anyway.

``tests/data/experiment_configs.json`` holds each experiment's resolved job configuration
(``deepinn train --cfg job +experiment=<name>``). A change that means to alter what an experiment
runs (a new default, a renamed key) rewrites it with ``DEEPINN_UPDATE_EXPERIMENTS=1 python -m
pytest tests/app/test_experiments.py``, and the diff shows what changed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

import deepinn
from deepinn.app import compose, register_configs
from deepinn.plugins import load_registry

CONF = Path(deepinn.__file__).resolve().parent / "conf"
SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "experiment_configs.json"
EXPERIMENTS = sorted(path.stem for path in (CONF / "experiment").glob("*.yaml"))


@pytest.fixture(scope="module")
def registry():
    registry = load_registry(strict=True)
    register_configs(registry)
    return registry


def _resolved(overrides: list[str]) -> Any:
    """The resolved job configuration, as JSON would store it (keys as strings)."""
    return json.loads(json.dumps(OmegaConf.to_container(compose(overrides), resolve=True)))


def test_the_snapshot_lists_every_experiment():
    if os.environ.get("DEEPINN_UPDATE_EXPERIMENTS"):
        pytest.skip("the snapshot is being rewritten")
    assert sorted(json.loads(SNAPSHOT.read_text())) == EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_resolves_to_its_recorded_configuration(registry, name):
    resolved = _resolved([f"+experiment={name}"])
    recorded = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}
    if os.environ.get("DEEPINN_UPDATE_EXPERIMENTS"):
        recorded[name] = resolved
        SNAPSHOT.write_text(json.dumps(recorded, indent=1) + "\n")
        return
    assert resolved == recorded[name]


def _default_choices() -> dict[str, str]:
    choices: dict[str, str] = {}
    for entry in OmegaConf.load(CONF / "train.yaml").defaults:
        if not isinstance(entry, str):
            choices.update({str(group): str(option) for group, option in entry.items()})
    return choices


def _leaves(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, DictConfig) and len(node) > 0:
        for key in node:
            yield from _leaves(node[key], f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, OmegaConf.to_container(node) if OmegaConf.is_config(node) else node


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_sets_no_key_to_the_value_it_would_get_anyway(registry, name):
    experiment = OmegaConf.load(CONF / "experiment" / f"{name}.yaml")
    defaults = _default_choices()
    choices = []
    for entry in experiment.get("defaults", []):
        if isinstance(entry, str):
            continue
        for key, option in entry.items():
            group = str(key).split()[-1].lstrip("/")
            assert defaults.get(group) != option, f"{name}: {group}={option} is the default choice"
            choices.append(f"{group}={option}")
    baseline = compose(choices)
    body = OmegaConf.masked_copy(experiment, [k for k in experiment if k not in ("defaults",)])
    for key, value in _leaves(body):
        default = OmegaConf.select(baseline, key, default="<absent>")
        if OmegaConf.is_config(default):
            default = OmegaConf.to_container(default)
        assert value != default, f"{name}: {key}: {value} is what it gets without the file"


def test_experiments_share_the_run_folder_layout_of_train_yaml(registry):
    for name in EXPERIMENTS:
        assert "hydra" not in OmegaConf.load(CONF / "experiment" / f"{name}.yaml"), name
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module="deepinn.conf", version_base=None):
            run = hydra_compose("train", ["+experiment=burgers"], return_hydra_config=True)
            plain = hydra_compose("train", ["problem=heat", "domain=interval"],
                                  return_hydra_config=True)
            dirs = [str(OmegaConf.select(cfg, "hydra.run.dir")) for cfg in (run, plain)]
    finally:
        GlobalHydra.instance().clear()
    assert dirs[0].startswith("outputs/burgers/")
    assert dirs[1].startswith("outputs/heat-interval/")
