"""Every option of every config group composes (Hydra compose API), builds and is checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException

import deepinn
from deepinn import ConfigurationError
from deepinn.app import GROUPS, build_components, compose, register_configs, typed_config
from deepinn.plugins import load_registry
from deepinn.training import OPTIMIZER_PRESETS, AdamLBFGSConfig, RunConfig

CONF = Path(deepinn.__file__).resolve().parent / "conf"
YAML_GROUPS = ("trainer", "logger")


@pytest.fixture(scope="module")
def registry():
    registry = load_registry(strict=True)
    register_configs(registry)
    return registry


def _options():
    registry = load_registry(strict=True)
    cases = [
        (group, name)
        for group, kind in GROUPS.items()
        for name in registry.names(kind)
        if (group, name) != ("problem", "custom")  # needs its constraints: see below
    ]
    cases += [("optimizer", name) for name in OPTIMIZER_PRESETS]
    cases += [
        (group, path.stem)
        for group in YAML_GROUPS
        for path in sorted((CONF / group).glob("*.yaml"))
    ]
    return cases


@pytest.mark.parametrize(("group", "name"), _options())
def test_every_option_composes_and_builds(registry, group, name):
    cfg = compose([f"{group}={name}"])
    problem, network, phases = build_components(cfg, registry)
    assert problem.constraints and phases
    assert network(problem.domain.sample_uniform(3).to(next(network.parameters()).dtype)).shape == (
        3,
        len(problem.outputs),
    )


def test_the_config_groups_are_read_from_the_kind_table():
    from deepinn.plugins import KIND_TABLE

    assert {kind.group: kind.name for kind in KIND_TABLE if kind.group} == GROUPS
    assert set(GROUPS) == {"problem", "domain", "sampler", "net"}


@pytest.mark.parametrize("group", ["space", "operator", "constraint"])
def test_kinds_that_change_nothing_are_not_offered_as_groups(registry, group):
    from hydra.core.config_store import ConfigStore

    assert group not in ConfigStore.instance().repo
    with pytest.raises(ConfigurationError, match=f"Unknown key '{group}'"):
        typed_config(compose([f"+{group}={registry.names(group)[0]}"]))


def test_no_yaml_preset_shadows_a_registered_name(registry):
    for group, kind in GROUPS.items():
        folder = CONF / group
        clashes = (
            sorted(p.stem for p in folder.glob("*.yaml") if p.stem in registry.names(kind))
            if folder.is_dir()
            else []
        )
        assert not clashes, f"conf/{group}/ has YAML files named like registered {kind}: {clashes}"
    assert not (CONF / "optimizer").exists(), "optimizer presets are typed dataclasses, not YAML"


def test_typed_parameters_are_checked_at_compose_time(registry):
    with pytest.raises(ConfigCompositionException):
        compose(["problem.n_interior=many"])


@pytest.mark.parametrize(
    "override",
    ["+sead=7", "+monitor.checkpoint_evry=5", "+optimizer.lr2=10.0", "+trainer.devcies=2"],
)
def test_a_misspelt_key_is_an_error_naming_the_nearest(registry, override):
    key = override[1:].split("=")[0]
    with pytest.raises(ConfigurationError, match=f"Unknown key '{key}'.*Did you mean"):
        typed_config(compose([override]))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=-1", "seed = -1"),
        ("eval_points=0", "eval_points = 0"),
        ("monitor.checkpoint_every=-1", "monitor.checkpoint_every = -1"),
        ("monitor.val_every=0", "monitor.val_every = 0"),
        ("dtype=float16", "Unknown dtype 'float16'"),
        ("field_mode=revers", "Did you mean 'reverse'"),
        ("optimizer.lr=nan", "optimizer.lr = nan"),
        ("optimizer.lr=-1", "optimizer.lr = -1"),
        ("optimizer.scheduler.name=cosin", "Did you mean 'cosine'"),
        ("trainer.devices=0", "trainer.devices = 0"),
        ("trainer.strategy=ddp_spawn", "Valid strategies: auto, ddp"),
        ("trainer.max_steps=0", "trainer.max_steps = 0"),
    ],
)
def test_a_bad_value_is_refused_before_anything_is_built(registry, override, message):
    with pytest.raises(ConfigurationError, match=message):
        typed_config(compose([override]))


def test_an_import_path_in_the_config_is_refused(registry, tmp_path):
    experiment = tmp_path / "experiment"
    experiment.mkdir()
    (experiment / "evil.yaml").write_text(
        "# @package _global_\nproblem:\n  weights: {_target_: builtins.open, _args_: [x, w]}\n"
    )
    with pytest.raises((ConfigurationError, ConfigCompositionException)):
        typed_config(compose(["+experiment=evil"], config_dir=str(tmp_path)))
    assert not (tmp_path / "x").exists()


def test_optimizer_presets_are_overridden_by_number(registry):
    config = typed_config(
        compose(["optimizer.adam_steps=7", "optimizer.lbfgs.tolerance_grad=1e-5"])
    )
    assert isinstance(config.optimizer, AdamLBFGSConfig)
    first, second = config.optimizer.phases(20)
    assert first.steps == 7 and second.optimizer.keywords["tolerance_grad"] == 1e-5


def test_every_experiment_uses_the_one_lbfgs_preset(registry):
    for path in sorted((CONF / "experiment").glob("*.yaml")):
        assert "_target_" not in path.read_text() and "LBFGS" not in path.read_text(), path.name
        config = typed_config(compose([f"+experiment={path.stem}"]))
        if isinstance(config.optimizer, AdamLBFGSConfig):
            assert config.optimizer.lbfgs == AdamLBFGSConfig().lbfgs or config.optimizer.lbfgs.dtype


def test_the_run_knobs_are_declared_once_in_run_config(registry):
    config = typed_config(compose([]))
    knobs = {f.name for f in dataclasses.fields(RunConfig)}
    assert knobs <= {f.name for f in dataclasses.fields(config)}
    assert config.monitor == RunConfig().monitor and config.seed == RunConfig().seed


def test_a_problem_with_its_own_geometry_refuses_an_explicit_domain(registry):
    with pytest.raises(
        ConfigurationError, match=r"problem=heat has its own geometry.*domain=sphere"
    ):
        build_components(
            compose(["problem=heat", "domain=sphere"]), registry, chosen_domain="sphere"
        )
    build_components(
        compose(["problem=poisson", "domain=sphere"]), registry, chosen_domain="sphere"
    )
    build_components(compose(["problem=heat"]), registry)  # the default domain, not chosen


def test_networks_receive_the_coordinate_names(registry):
    _, network, _ = build_components(compose(["problem=heat", "+net.periodic={x: 2.0}"]), registry)
    assert network is not None


def test_problem_custom_alone_asks_for_its_constraints(registry):
    with pytest.raises(ConfigurationError, match=r"problem.constraints is empty.*docs/yaml_pde.md"):
        build_components(compose(["problem=custom"]), registry)


def test_train_yaml_comments_document_every_run_knob():
    text = (CONF / "train.yaml").read_text()
    missing = [f.name for f in dataclasses.fields(RunConfig) if f"#   {f.name}:" not in text]
    assert not missing, f"conf/train.yaml does not document {missing}"


def test_a_scheduler_setting_the_schedule_does_not_read_is_refused():
    from deepinn.training import SchedulerConfig

    with pytest.raises(
        ConfigurationError,
        match=r"gamma = 0.5 changes nothing with optimizer.scheduler.name=cosine",
    ):
        SchedulerConfig(name="cosine", gamma=0.5)
    SchedulerConfig(name="none", gamma=0.5, warmup_steps=10)  # off: one switch, settings kept
    SchedulerConfig(name="warmup_exponential", warmup_steps=10, gamma=0.5)


@pytest.mark.parametrize("name", ["exponential", "step", "cosine", "warmup", "warmup_exponential"])
def test_every_schedule_changes_the_learning_rate(name):
    import torch

    from deepinn.training import AdamConfig, SchedulerConfig

    warmup = 5 if name in ("warmup", "warmup_exponential", "cosine") else 0
    decay = {} if name in ("cosine", "warmup") else {"gamma": 0.5, "decay_steps": 10}
    scheduler = SchedulerConfig(name=name, warmup_steps=warmup, **decay)
    phase = AdamConfig(lr=1.0, scheduler=scheduler).phases(100)[0]
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = phase.optimizer([parameter])
    lr_schedule = phase.scheduler(optimizer)
    rates = []
    for _ in range(40):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        lr_schedule.step()
    assert len(set(rates)) > 1 and max(rates) <= 1.0 + 1e-12


def test_the_problem_builds_its_samplers_through_one_factory_seeded_from_the_run(registry):
    from deepinn.app import build
    from deepinn.samplers import SamplerFactory, SobolSampler

    parts = build(typed_config(compose(["seed=7", "sampler=sobol"])), registry)
    samplers = [constraint.sampler for constraint in parts.problem.constraints]
    assert isinstance(parts.samplers, SamplerFactory) and parts.samplers.built == len(samplers) == 2
    assert all(isinstance(sampler, SobolSampler) for sampler in samplers)
    assert [sampler.seed for sampler in samplers] == [7, 7]  # points: (seed, constraint, round)
