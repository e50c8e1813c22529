"""Every offered option of every config group changes the run (no option that does nothing)."""

from __future__ import annotations

import pytest
import torch

from deepinn.app import GROUPS, build_components, compose, register_configs, typed_config
from deepinn.plugins import load_registry
from deepinn.training import OPTIMIZER_PRESETS


@pytest.fixture(scope="module")
def registry():
    registry = load_registry(strict=True)
    register_configs(registry)
    return registry


def _fingerprint(registry, overrides):
    """What a run is made of: problem, domain, first points, network, optimizer, trainer."""
    cfg = compose(overrides)
    config = typed_config(cfg)
    problem, network, phases = build_components(cfg, registry)
    points = problem.constraints[0].sample(torch.Generator().manual_seed(0))["x"]
    return {
        "problem": (problem.name, tuple(c.name for c in problem.constraints)),
        "domain": repr(problem.domain),
        "points": points,
        "net": (
            type(network).__name__,
            sum(p.numel() for p in network.parameters()),
            repr(network),
        ),
        "optimizer": [
            (p.optimizer.func.__name__, sorted(p.optimizer.keywords.items()), p.steps)
            for p in phases
        ],
        "trainer": config.trainer,
        "logger": config.logger,
    }


def _differs(a, b):
    if isinstance(a, torch.Tensor):
        return a.shape != b.shape or not torch.equal(a, b)
    return a != b


SEPARATE = {
    ("sampler", "adaptive"): "moves the points during training: tests/samplers/test_adaptive.py",
    ("problem", "custom"): "needs its constraints: tests/problems/test_custom_problem.py",
}


def _cases():
    registry = load_registry(strict=True)
    defaults = {"problem": "poisson", "domain": "parallelogram", "sampler": "random", "net": "mlp"}
    cases = [
        (group, name)
        for group, kind in GROUPS.items()
        for name in registry.names(kind)
        if name != defaults[group] and (group, name) not in SEPARATE
    ]
    cases += [("optimizer", name) for name in OPTIMIZER_PRESETS if name != "adam_lbfgs"]
    cases += [("trainer", "ddp"), ("logger", "none")]
    return cases


WHAT_CHANGES = {"sampler": "points", "domain": "domain", "net": "net", "problem": "problem",
                "optimizer": "optimizer", "trainer": "trainer", "logger": "logger"}


@pytest.mark.parametrize(("group", "name"), _cases())
def test_choosing_an_option_changes_the_run(registry, group, name):
    default = _fingerprint(registry, [])
    chosen = _fingerprint(registry, [f"{group}={name}"])
    key = WHAT_CHANGES[group]
    if group == "domain" and chosen["problem"] == default["problem"]:
        # the default problem (Poisson) is posed on the chosen domain
        assert _differs(chosen["domain"], default["domain"])
    else:
        assert _differs(chosen[key], default[key]), f"{group}={name} changed nothing in {key}"
