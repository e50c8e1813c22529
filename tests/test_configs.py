"""Every option of every config group composes (Hydra compose API) and builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from deepinn.plugins import load_registry
from deepinn.training import GROUPS, build_components, register_configs

CONF = Path(__file__).resolve().parents[1] / "conf"
BUILT_IN_DEFAULT_GROUPS = ("problem", "domain", "sampler", "net")
YAML_GROUPS = ("optimizer", "trainer", "logger")


@pytest.fixture(scope="module")
def registry():
    registry = load_registry(strict=True)
    register_configs(registry)
    return registry


def _compose(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name="train", overrides=overrides)


def _options():
    registry = load_registry(strict=True)
    cases = [(group, name) for group in BUILT_IN_DEFAULT_GROUPS for name in registry.names(GROUPS[group])]
    cases += [(group, path.stem) for group in YAML_GROUPS for path in sorted((CONF / group).glob("*.yaml"))]
    return cases


@pytest.mark.parametrize(("group", "name"), _options())
def test_every_option_composes_and_builds(registry, group, name):
    cfg = _compose([f"{group}={name}"])
    problem, network, phases = build_components(cfg, registry)
    assert problem.constraints and phases
    assert network(problem.domain.sample_uniform(3).to(next(network.parameters()).dtype)).shape == (3, len(problem.outputs))


@pytest.mark.parametrize("group", ["space", "operator", "constraint"])
def test_registered_kinds_outside_the_defaults_compose(registry, group):
    for name in registry.names(GROUPS[group]):
        cfg = _compose([f"+{group}={name}"])
        assert cfg[group].name == name
        registry.params(GROUPS[group], name, cfg[group])


def test_no_yaml_preset_shadows_a_registered_name(registry):
    for group, kind in GROUPS.items():
        folder = CONF / group
        clashes = sorted(p.stem for p in folder.glob("*.yaml") if p.stem in registry.names(kind)) if folder.is_dir() else []
        assert not clashes, f"conf/{group}/ has YAML files named like registered {kind}: {clashes}"


def test_typed_parameters_are_checked_at_compose_time(registry):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException):
        _compose(["problem.n_interior=many"])
