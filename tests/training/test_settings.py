"""A run's knobs are declared, defaulted and checked once: in ``deepinn.training.settings``.

Every field of :class:`RunConfig` and of its sections has a bad value here that its construction
refuses naming the key, and no other module of ``deepinn/training`` checks the key again. A new
field without a check, or a second check of a field somewhere else, fails these tests.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from deepinn import ConfigurationError
from deepinn.training import (
    CausalConfig,
    MarchingConfig,
    MonitorConfig,
    RunConfig,
    WeightingConfig,
)

TRAINING = Path(__file__).resolve().parents[2] / "deepinn" / "training"
SETTINGS = TRAINING / "settings"

SECTIONS: dict[str, type] = {
    "monitor": MonitorConfig,
    "weighting": WeightingConfig,
    "causal": CausalConfig,
    "marching": MarchingConfig,
}

BAD: dict[str, list[Any]] = {
    "seed": [-1, 2**32, 1.5, True, "0"],
    "threads": [0, -2, 1.5, "4", True, "many", ""],
    "allocator": ["jemalloc", "Auto", None, True],
    "dtype": ["float16", "double", torch.float16, None],
    "resample_every": [-1, 2.5, True],
    "field_mode": ["sideways", "Auto", None],
    "compile": [1, "yes", None, 0.5],
    "eval_points": [0, -5, 10.0],
    "resume": [3, "", True],
    "resume_from": ["worst", None],
    "init_from": [3, "", True],
    "monitor": [5, "often"],
    "weighting": [5, "fancy"],
    "causal": [5, "on"],
    "marching": [5, "on"],
    "monitor.log_every": [0, 1.5, None],
    "monitor.val_every": [0, -1, "10"],
    "monitor.grad_norm_every": [0, None],
    "monitor.histogram_every": [0, True],
    "monitor.checkpoint_every": [0, 2.0],
    "weighting.name": ["gradnorm", None],
    "weighting.alpha": [1.0, -0.1, "0.5", True],
    "weighting.every": [0, 1.5],
    "weighting.ntk_rows": [0, 2.5, True],
    "causal.tol": [-1.0, float("inf"), float("nan"), "1"],
    "causal.chunks": [0, 2.5, True],
    "causal.time": ["", 3],
    "marching.windows": [0, -2, 1.5, True, "3"],
    "marching.time": ["", None],
}
"""Values each key must refuse (a key missing here is a field without a check)."""


def _keys() -> list[str]:
    keys = []
    for field in dataclasses.fields(RunConfig):
        keys.append(field.name)
        if field.name in SECTIONS:
            keys += [f"{field.name}.{f.name}" for f in dataclasses.fields(SECTIONS[field.name])]
    return keys


def _build(key: str, value: Any) -> Any:
    if "." in key:
        section, name = key.split(".")
        return RunConfig(**{section: {name: value}})
    return RunConfig(**{key: value})


def test_every_field_of_the_run_and_its_sections_has_a_check_here():
    assert set(SECTIONS) <= {f.name for f in dataclasses.fields(RunConfig)}
    assert sorted(_keys()) == sorted(BAD), "each RunConfig field needs bad values in BAD"


def test_the_defaults_build_and_survive_a_replace():
    run = RunConfig()
    assert run.replace() == run
    for kind in SECTIONS.values():
        assert kind() == kind()


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, vs in BAD.items() for v in vs])
def test_a_bad_value_is_refused_when_the_config_is_built_naming_the_key(key, value):
    with pytest.raises(ConfigurationError) as info:
        _build(key, value)
    assert re.search(rf"(?<![\w.]){re.escape(key)}\b", str(info.value)), str(info.value)
    with pytest.raises(ConfigurationError):  # fit's keywords go the same way
        if "." in key:
            section, name = key.split(".")
            RunConfig().replace(**{section: {name: value}})
        else:
            RunConfig().replace(**{key: value})


# ------------------------------------------------------------------ no second check elsewhere
_CHOICES = {"FIELD_MODES", "DTYPES", "WEIGHTINGS", "RESUME_FROM", "COMPILE_CHOICES"}
_CHECKS = {"check_int", "_compile_choice", "compile_choice", "_dtype_name", "_section",
           "_threads_choice"}


def _texts(node: ast.AST) -> list[str]:
    """The string constants of the message in ``node`` (an f-string's literal parts included),
    not those of its ``fix=`` (the settings that mend it name their keys)."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            call.keywords = [k for k in call.keywords if k.arg != "fix"]
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _patterns(key: str) -> list[re.Pattern[str]]:
    """How a check names ``key``: ``key = <value>`` (the house's form) or the key alone (the kind
    of an ``unknown_name_message``); a section's field also by its own name when that is
    distinctive (``log_every``)."""
    names = [key]
    last = key.rsplit(".", 1)[-1]
    if "." in key and "_" in last:
        names.append(last)
    result = []
    for name in names:
        escaped = re.escape(name)
        result += [re.compile(rf"(?<![\w.]){escaped} = "), re.compile(rf"^{escaped}$")]
    return result


def rechecks(source: str) -> dict[str, list[int]]:
    """The keys ``source`` checks, with the lines: a ``raise`` whose message names a key as a
    check does, a call of one of the settings' checks, or a test against a list of choices
    guarding a ``raise``."""
    found: dict[str, list[int]] = {}
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            texts = _texts(node.exc)
            for key in BAD:
                if any(p.search(t) for p in _patterns(key) for t in texts):
                    found.setdefault(key, []).append(node.lineno)
            for string in ast.walk(node.exc):  # f"{name} = {value}; ...": a key named at run time
                parts = getattr(string, "values", []) if isinstance(string, ast.JoinedStr) else []
                for before, after in itertools.pairwise(parts):
                    if isinstance(before, ast.FormattedValue) and isinstance(after, ast.Constant) \
                            and str(after.value).startswith(" = "):
                        found.setdefault("<a key named at run time>", []).append(node.lineno)
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name in _CHECKS:
                found.setdefault(f"<{name}>", []).append(node.lineno)
        if isinstance(node, ast.If) and any(isinstance(n, ast.Raise) for n in ast.walk(node)):
            names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
            for choices in names & _CHOICES:
                found.setdefault(f"<{choices}>", []).append(node.lineno)
    return found


def test_the_scan_finds_a_second_check():
    loose = '''
def build(field_mode, log_every, compile):
    if field_mode not in FIELD_MODES:
        raise ConfigurationError(f"field_mode = {field_mode!r}; valid modes are {FIELD_MODES}.")
    if log_every <= 0:
        raise ConfigurationError(f"log_every = {log_every}; use a positive number of steps.")
    for name, value in {"log_every": log_every}.items():
        if value <= 0:
            raise ConfigurationError(f"{name} = {value}; use a positive number of steps.")
    compile = compile_choice(compile)
    raise ConfigurationError(unknown_name_message("weighting.name", name, ("none",)))
'''
    found = rechecks(loose)
    assert {"field_mode", "monitor.log_every", "<compile_choice>", "<FIELD_MODES>",
            "weighting.name", "<a key named at run time>"} <= set(found)
    assert not rechecks('raise TrainingError("resume={path}: a fix {fix}", fix=[...])')


@pytest.mark.parametrize(
    "path",
    sorted(p for p in TRAINING.rglob("*.py") if SETTINGS not in p.parents),
    ids=lambda p: str(p.relative_to(TRAINING)),
)
def test_no_module_outside_settings_checks_a_knob_again(path):
    assert rechecks(path.read_text()) == {}, f"{path} checks a run setting again"


def test_the_settings_check_every_key():
    found: set[str] = set()
    for path in SETTINGS.rglob("*.py"):
        found |= set(rechecks(path.read_text()))
    assert "<check_int>" in found and "<FIELD_MODES>" in found and "<_compile_choice>" in found
