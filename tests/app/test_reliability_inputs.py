"""Reliability of inputs: hostile or mistaken YAML, point counts that cannot fit, and messages
that name the value, the key and the fix.

The main job's refusals go through ``deepinn.app.train`` in-process (what ``deepinn train``
calls; each fails before the run folder is claimed); the closed pipe of ``deepinn train --help |
head`` runs the installed command in a subprocess (marked slow).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from deepinn import ConfigurationError
from deepinn.app import train
from deepinn.app._memory import check_memory
from deepinn.app._yamlfiles import check_yaml_file
from deepinn.plugins import load_registry

ROOT = Path(__file__).resolve().parents[2]

BOMB = """\
# @package _global_
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _refused(capsys, *arguments: str) -> str:
    with pytest.raises(SystemExit) as info:
        train(list(arguments))
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("deepinn train: error: ") and "\n" not in err, err
    return err


def _config_dir(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "conf"
    (folder / "experiment").mkdir(parents=True)
    (folder / "experiment" / f"{name}.yaml").write_text(text)
    return folder


def _custom(registry, constraints: dict, **params):
    return registry.problems.build(
        "custom", {"coordinates": ["x", "y"], "constraints": constraints, **params},
        domain=registry.domains.build("parallelogram"),
        make_sampler=lambda domain, n: registry.samplers.build(
            "random", None, domain=domain, n_points=n, seed=0
        ),
        registry=registry,
    )


# ------------------------------------------------------------------ memory and sizes
def test_an_alias_bomb_is_refused_within_a_second_naming_the_file(capsys, tmp_path, monkeypatch):
    folder = _config_dir(tmp_path, "bomb", BOMB)
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    err = _refused(capsys, "--config-dir", str(folder), "+experiment=bomb")
    assert time.perf_counter() - start < 1.0
    expected = r"experiment/bomb.yaml: expands to [\d,]{11,} YAML nodes"
    assert pytest.importorskip("re").search(expected, err), err
    assert "at most 100,000" in err and "Remove the nested aliases" in err
    assert not (tmp_path / "outputs").exists()
    start = time.perf_counter()
    with pytest.raises(ConfigurationError, match=expected):
        check_yaml_file(folder / "experiment" / "bomb.yaml")
    assert time.perf_counter() - start < 0.2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed: 1\nseed: 2\n",
         r"dup\.yaml, line 3: the key 'seed' is given twice in one mapping \(first at line 2\); "
         "keep one"),
        ("trainer:\n\tmax_steps: 2\n",
         r"dup\.yaml, line 3, column 1: found character '\\t' .*; indent with spaces"),
        ("a: &a [1, *a]\n", r"dup\.yaml, line 2: an alias refers to the node that holds it"),
    ],
)
def test_a_yaml_mistake_names_the_file_the_line_and_the_fix(capsys, tmp_path, text, expected):
    folder = _config_dir(tmp_path, "dup", "# @package _global_\n" + text)
    err = _refused(capsys, "--config-dir", str(folder), "+experiment=dup",
                   f"hydra.run.dir={tmp_path / 'run'}")
    assert pytest.importorskip("re").search(expected, err), err
    assert not (tmp_path / "run").exists()


def test_a_missing_config_dir_says_so_and_creates_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = _refused(capsys, "--config-dir", str(tmp_path / "missing"), "+experiment=mine")
    assert f"--config-dir {tmp_path / 'missing'}: no such folder" in err
    assert "experiment" not in err.partition("Give")[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["+experiment=yaml_heat", "problem.constraints.pde.n=1000000000"],
         r"from problem.constraints.pde.n\) .* problem.constraints.pde.n=1000000000 is too large: "
         r"lower it, e.g. problem.constraints.pde.n=\d+"),
        (["sampler=adaptive", "sampler.pool_factor=100000000"],
         r"candidate pool: .* from sampler.pool_factor\) .* sampler.pool_factor=100000000 is too "
         r"large: lower it, e.g. sampler.pool_factor=\d+"),
    ],
)
def test_every_point_count_is_checked_before_the_run_folder(
    capsys, tmp_path, monkeypatch, overrides, expected
):
    monkeypatch.setattr("deepinn.app._memory.available_memory", lambda: 8 * 2**30)
    run = tmp_path / "run"
    err = _refused(capsys, *overrides, f"hydra.run.dir={run}")
    assert pytest.importorskip("re").search(expected, err), err
    assert not run.exists()


def test_the_memory_check_finds_a_plugin_problems_counts_and_suggests_one_that_fits():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"problem": {"name": "mine", "n_sources": 10**9},
                            "net": {"hidden": [32]}, "eval_points": 100})
    too_large = r"problem.n_sources=1000000000 is too large"
    with pytest.raises(ConfigurationError, match=too_large) as info:
        check_memory(cfg, dim=2, available=2**30)
    fits = int(str(info.value).split("at most ")[1].split()[0])
    check_memory(OmegaConf.merge(cfg, {"problem": {"n_sources": fits}}), dim=2, available=2**30)


# ------------------------------------------------------------------ messages
def test_resume_from_a_file_that_is_not_a_checkpoint_says_so():
    from deepinn.training.service._checkpoint import load_checkpoint_safely

    with pytest.raises(ConfigurationError, match=r"README.md' is not a checkpoint") as info:
        load_checkpoint_safely(ROOT / "README.md")
    assert "malicious" not in str(info.value) and "pickled" not in str(info.value)


@pytest.mark.parametrize("form", [
    '+problem.constraints.start2={kind: initial, n: 10, value: "sin(pi*x)"}',
    '++problem.constraints.start2={kind: initial, n: 10, value: "sin(pi*x)"}',
    '+problem.constraints={start2: {kind: initial, n: 10, value: "sin(pi*x)"}}',
])
def test_a_constraint_added_from_the_command_line_joins_the_problem(capsys, form):
    import yaml

    assert train(["+experiment=yaml_heat", form, "--cfg", "job"]) == 0
    constraints = yaml.safe_load(capsys.readouterr().out)["problem"]["constraints"]
    assert {"pde", "start2"} <= set(constraints)
    added = constraints["start2"]
    assert (added["kind"], added["n"], added["value"]) == ("initial", 10, "sin(pi*x)")


def test_a_constraint_added_whole_trains_with_the_run(tmp_path, keep_root_logging):
    import json

    run = tmp_path / "run"
    assert train(["+experiment=yaml_heat", "trainer.max_steps=2", "eval_points=100",
                  "logger=none", "threads=1", f"hydra.run.dir={run}",
                  '+problem.constraints.start2={kind: initial, n: 10, value: "sin(pi*x)"}']) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert "start2" in metrics["loss_per_constraint"]


def test_a_new_entry_given_whole_outside_the_command_names_the_form_that_works():
    from hydra.errors import ConfigCompositionException

    from deepinn.app import compose, register_configs
    from deepinn.app._messages import composition_message

    register_configs(load_registry())
    value = "{kind: initial, n: 10}"
    with pytest.raises(ConfigCompositionException) as info:  # compose() takes Hydra's forms only
        compose(["+experiment=yaml_heat", f"+problem.constraints.start2={value}"])
    message = composition_message(info.value, {"problem.constraints.start2": value})
    assert "problem.constraints takes a new entry only as a mapping merged into it" in message
    assert "write +problem.constraints={start2: {kind: initial, n: 10}}" in message


def test_a_schedule_setting_with_no_schedule_is_refused(capsys, tmp_path):
    from deepinn.training import SchedulerConfig

    err = _refused(capsys, "optimizer.scheduler.gamma=0.5", f"hydra.run.dir={tmp_path / 'run'}")
    assert ("optimizer.scheduler.gamma = 0.5 changes nothing: no schedule is chosen "
            "(optimizer.scheduler.name is not set)") in err
    assert "optimizer.scheduler.name=<exponential|step|warmup_exponential>" in err
    assert SchedulerConfig().build(10) is None
    SchedulerConfig(name="none", gamma=0.5)  # the switch that turns a configured schedule off


def test_an_operator_of_a_disabled_plugin_is_said_to_be_disabled():
    registry = load_registry(disabled=["example"])
    if not registry.disabled:
        pytest.skip("the example plugin (deepinn-example) is not installed")
    with pytest.raises(ConfigurationError, match=r"Unknown function 'biharmonic'.*Installed but "
                                                 r"disabled .*: example \(deepinn-example\)"):
        _custom(registry, {"pde": {"kind": "pde", "residual": "biharmonic(u)"}})


def test_a_closed_pipe_ends_the_command_quietly(monkeypatch):
    from deepinn.__main__ import EXIT_BROKEN_PIPE, main

    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["show", "domain", "circle"]) == EXIT_BROKEN_PIPE


@pytest.mark.slow
def test_deepinn_train_help_into_a_closed_pipe_prints_no_traceback(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "deepinn", "train", "--help"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head` does once it has its lines
    assert process.wait(timeout=300) == 141
    assert "Traceback" not in process.stderr.read().decode()


@pytest.mark.parametrize(
    ("kind", "keywords"),
    [("periodic", ["shift", "derivatives", "outputs"]), ("robin", ["value", "alpha", "beta"]),
     ("initial", ["value", "rate", "outputs"])],
)
def test_show_constraint_lists_what_the_problem_gives_it(capsys, kind, keywords):
    from deepinn.__main__ import main

    assert main(["show", "constraint", kind]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0] for line in out.split("KEYWORD", 1)[1].splitlines()[1:]}
    assert set(keywords) <= rows, out
    assert "params: {" in out or kind == "initial"


def test_a_per_output_value_mapping_sets_each_output(registry):
    problem = _custom(registry, {
        "pde": {"kind": "pde", "residual": "laplacian(u) + laplacian(v)"},
        "wall": {"kind": "dirichlet", "n": 16, "value": {"u": "0", "v": "x + 1"}},
        "top": {"kind": "dirichlet", "n": 16, "value": {"v": "2"}},
    }, outputs=["u", "v"])
    wall, top = problem.constraints[1:]
    batch = wall.sample(torch.Generator().manual_seed(0))
    assert wall.outputs == ("u", "v") and top.outputs == ("v",)
    assert torch.equal(batch["target"][:, 0], torch.zeros(16))
    assert torch.allclose(batch["target"][:, 1], batch["x"][:, 0] + 1)
    with pytest.raises(ConfigurationError, match=r"problem.constraints.wall.value names \['p'\] "
                                                 r"but the outputs are \['u', 'v'\]"):
        _custom(registry, {"pde": {"kind": "pde", "residual": "laplacian(u)"},
                           "wall": {"kind": "dirichlet", "value": {"p": "0"}}}, outputs=["u", "v"])


def test_a_per_output_value_mapping_composes_from_the_command_line(registry):
    from deepinn.app import build_components, compose, register_configs

    register_configs(registry)
    cfg = compose(["+experiment=yaml_heat",
                   '+problem.constraints={wall2: {kind: dirichlet, n: 8, value: {u: "t + 1"}}}'])
    problem, _, _ = build_components(cfg, registry)
    wall = next(c for c in problem.constraints if c.name == "wall2")
    batch = wall.sample(torch.Generator().manual_seed(0))
    assert wall.outputs == ("u",)
    assert torch.allclose(batch["target"][:, 0], batch["x"][:, 1] + 1)


def test_a_domain_restricted_with_where_measures_the_error_there_only(registry):
    constraints = {"pde": {"kind": "pde", "residual": "laplacian(u)", "where": "x < 0.5"},
                   "wall": {"kind": "dirichlet", "value": "0"}}
    restricted = _custom(registry, constraints, exact="x*y")
    points, values = restricted.evaluation_set(500)
    assert points.shape == (500, 2) and bool((points[:, 0] < 0.5).all())
    assert torch.allclose(values[:, 0], points[:, 0] * points[:, 1])
    constraints["pde"].pop("where")
    whole, _ = _custom(registry, constraints, exact="x*y").evaluation_set(500)
    assert bool((whole[:, 0] > 0.5).any())
