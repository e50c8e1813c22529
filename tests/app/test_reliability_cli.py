"""Reliability of the main job: every bad input is one line and creates nothing; run folders
belong to one run; SIGTERM saves and says how to resume; resume checks; logs off a terminal.

The bad inputs go through ``deepinn.app.train`` in-process (exactly what ``deepinn train``
calls; they all fail before the run folder is claimed); the rest runs the installed
``deepinn train`` command or ``python train.py`` in subprocesses (marked slow).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deepinn.app import train

ROOT = Path(__file__).resolve().parents[2]
TINY = ["problem.n_interior=64", "problem.n_boundary=16", "eval_points=200", "net.hidden=[8,8]",
        "threads=1", "logger=none", "optimizer=adam"]


def _refused(capsys, *overrides: str) -> str:
    with pytest.raises(SystemExit) as info:
        train(list(overrides))
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("deepinn train: error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["seed=abc"], "seed=abc: Value 'abc' .* Integer. Give an integer"),
        (["problem.weights.pde=2"], r"problem.weights.pde is not set yet.*\+problem.weights.pde=2"),
        (["trainer.max_steps=abc"], "trainer.max_steps=abc: .*Give an integer"),
        (
            ["domain=elipse"],
            "Unknown domain option 'elipse'. Registered domain options: annulus, .*circle",
        ),
        (["optimizer=adamx"], "Unknown optimizer option 'adamx'.*Did you mean 'adam'"),
        (["nokey=1"], "Unknown key 'nokey'. Valid keys: "),
        (["+sead=7"], "Unknown key 'sead'.*Did you mean seed"),
        (["+optimizer.lr=10.0"], "optimizer.lr"),
        (["seed=-1"], "seed = -1"),
        (["eval_points=0"], "eval_points = 0"),
        (["eval_points=-1"], "eval_points = -1"),
        (["trainer.devices=0"], "trainer.devices = 0"),
        (["trainer.strategy=ddp_spawn"], "trainer.strategy 'ddp_spawn'"),
        (["optimizer.lr=nan"], "lr"),
        (["optimizer.lr=-1"], "lr"),
        (["optimizer.lr=fast"], "optimizer.lr=fast: .*Give a number"),
        (["monitor.checkpoint_every=0"], "monitor.checkpoint_every = 0"),
        (["monitor.val_every=-1"], "monitor.val_every = -1"),
        (["resume_from=worst"], "Unknown resume_from 'worst'"),
        (["resume=run/checkpoints/best-step=200.ckpt"], "resume=<run folder> resume_from=best"),
        (["resume=no/such/folder"], "no checkpoint found"),
        (
            ["problem.n_interior=1000000000"],
            r"needs at least .* of memory .*problem.n_interior.* available",
        ),
        (["sampler=grid", "problem.n_interior=1000000000"], "problem.n_interior"),
        (
            ["net.hidden=[100000,100000]"],
            r"network weights .* from net.hidden\) but this machine has",
        ),
        (
            ["eval_points=1000000000"],
            r"evaluation set: .* from eval_points\) but this machine has 8.0 GiB",
        ),
        (["problem=helmholtz", "domain=interval"], r"'helmholtz' needs a 2-D domain"),
        (["+experiment=yaml_heat", "problem.exact='log(x - 3)'"], r"exact\(x\) is not finite at"),
        (
            ["optimizer=lbfgs", "optimizer.scheduler.name=cosine"],
            r"the optimizer chosen has no such key",
        ),
    ],
)
def test_a_bad_input_is_one_line_and_creates_nothing(
    capsys, tmp_path, monkeypatch, overrides, expected
):
    monkeypatch.setattr("deepinn.app._memory.available_memory", lambda: 8 * 2**30)
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    err = _refused(capsys, *overrides, f"hydra.run.dir={run}")
    assert pytest.importorskip("re").search(expected, err), err
    assert not run.exists() and not (tmp_path / "outputs").exists()


def test_an_uncreatable_run_folder_is_one_line(capsys):
    assert "Cannot create the run folder '/proc/x/run'" in _refused(
        capsys, "hydra.run.dir=/proc/x/run"
    )


def test_a_used_run_folder_is_refused_naming_the_resume_command(capsys, tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    err = _refused(capsys, f"hydra.run.dir={tmp_path}")
    assert "belongs to another run (it holds metrics.json)" in err
    assert f"deepinn train resume={tmp_path}" in err


# ------------------------------------------------------------------ subprocesses
def _command(*overrides: str, installed: bool = False) -> list[str]:
    if installed:
        return [sys.executable, "-m", "deepinn", "train", *overrides]
    return [sys.executable, str(ROOT / "train.py"), *overrides]


def _run(*overrides: str, cwd: Path, env: dict[str, str] | None = None, installed: bool = False):
    environment = dict(os.environ, PYTHONWARNINGS="ignore", **(env or {}))
    return subprocess.run(_command(*overrides, installed=installed), cwd=cwd, capture_output=True,
                          text=True, env=environment, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("installed", [False, True])
def test_the_commands_print_one_line_for_a_composition_error(tmp_path, installed):
    result = _run("domain=elipse", "seed=abc", cwd=tmp_path, installed=installed)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("deepinn train: error: Unknown domain option 'elipse'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_sigterm_then_resume_with_a_lower_learning_rate(tmp_path):
    # One process at a time: a tiny run, killed, then resumed in new folders.
    first = tmp_path / "first"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    process = subprocess.Popen(
        _command(
            *TINY, "trainer.max_steps=100000", "monitor.log_every=5", f"hydra.run.dir={first}"
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    log = first / "train.log"
    deadline = time.time() + 300
    while process.poll() is None and time.time() < deadline:
        if log.exists() and "step 10/" in log.read_text():
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 143, err[-2000:]
    metrics = json.loads((first / "metrics.json").read_text())
    assert metrics["stop_reason"] == f"SIGTERM at step {metrics['steps']}"
    assert (first / "checkpoints" / "last.ckpt").is_file()
    assert f"resume with: deepinn train resume={first}" in err
    # Progress went to the pipe as lines (no carriage returns) and into the run's train.log.
    assert "step 5/100000  loss " in out and "\r" not in out
    assert "step 5/100000  loss " in log.read_text() and "stopped     SIGTERM" in log.read_text()

    # The folder is this run's: a new run into it is refused.
    again = _run(*TINY, f"hydra.run.dir={first}", cwd=tmp_path)
    assert again.returncode == 1 and "belongs to another run" in again.stderr
    # A resume under another network is refused with the differing key.
    other = _run(*TINY, "net.hidden=[16,16]", f"resume={first}", cwd=tmp_path)
    assert other.returncode == 1
    assert "net.hidden: [8, 8] in the checkpoint, [16, 16] now" in other.stderr
    # A lower learning rate applies, and the log says so.
    steps = metrics["steps"] + 3
    resumed = _run(*TINY, f"trainer.max_steps={steps}", "optimizer.lr=0.0001", f"resume={first}",
                   "resume_from=last", f"hydra.run.dir={tmp_path / 'second'}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "lr: 0.001 -> 0.0001" in resumed.stdout
    assert json.loads((tmp_path / "second" / "metrics.json").read_text())["steps"] == steps


PLUGIN_CASES = {
    "strict": ("raise RuntimeError('boom')\n", {"DEEPINN_STRICT_PLUGINS": "1"}, "boom"),
    "misspelt_hook": (
        """
        from deepinn.plugins import hookimpl

        @hookimpl
        def deepinn_domain():
            return []
        """, {}, "deepinn_domain"),
    "returns_none": (
        """
        from dataclasses import dataclass
        from deepinn.plugins import Registration, hookimpl

        @dataclass
        class P:
            radius: float = 1.0

        @hookimpl
        def deepinn_domains():
            return [Registration("nothing", lambda params: None, P, "returns None")]
        """, {}, "returned None"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(PLUGIN_CASES))
def test_a_plugin_error_at_start_up_is_one_line_naming_the_plugin(tmp_path, case):
    source, env, expected = PLUGIN_CASES[case]
    site = tmp_path / "site"
    site.mkdir()
    (site / "badplugin.py").write_text(textwrap.dedent(source))
    info = site / "badplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: badplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[deepinn]\nbadplugin = badplugin\n")
    env = dict(env, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    extra = ["domain=nothing"] if case == "returns_none" else []
    result = _run(*TINY, *extra, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    line = [x for x in result.stderr.splitlines() if x.startswith("deepinn train: error:")]
    assert len(line) == 1 and expected in line[0] and "badplugin" in line[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  constraint:\n    pde: {kind: pde, n: 10, residual: '-u_xx'}",
         r"in experiment/bad.yaml: problem.constraint: Key 'constraint' not in .*not a key of the "
         r"problem chosen: fix its spelling"),
        ("  constraints:\n    pde: {kind: pde, n: many, residual: '-u_xx'}",
         r"in experiment/bad.yaml: problem.constraints.pde.n: Value 'many' .*Integer; give "
         r"problem.constraints.pde.n an integer"),
    ],
)
def test_a_mistake_inside_a_yaml_file_names_the_file_the_key_and_the_fix(
    capsys, tmp_path, monkeypatch, entry, expected
):
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "bad.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /problem: custom\n  - _self_\n"
        f"problem:\n  coordinates: [x, y]\n{entry}\n"
    )
    monkeypatch.chdir(tmp_path)
    err = _refused(capsys, f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "+experiment=bad")
    assert pytest.importorskip("re").search(expected, err), err


# ------------------------------------------------------------------ resume from the run folder
def test_a_resume_composes_the_run_folder_s_overrides_before_the_given_ones(tmp_path):
    import argparse

    from deepinn.app._resume import plan_resume

    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text(
        "- net.hidden=[8,8]\n- seed=3\n- +foo=1\n- resume=older\n- trainer.max_steps=30\n"
    )
    args = argparse.Namespace(
        overrides=[f"resume={tmp_path}", "trainer.max_steps=50", "foo=2"], config_dir=None
    )
    plan = plan_resume(args)
    assert plan.folder == tmp_path
    # the stored ones first (not the previous resume, nor a key given again), then the given
    assert args.overrides == ["net.hidden=[8,8]", "seed=3", "+foo=1", f"resume={tmp_path}",
                              "trainer.max_steps=50", "foo=2"]
    assert plan.given == {"trainer.max_steps": "trainer.max_steps=50", "foo": "foo=2"}
    # a checkpoint file inside the run folder names the same folder
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    args = argparse.Namespace(overrides=[f"resume={tmp_path}/checkpoints/last.ckpt"],
                              config_dir=None)
    assert plan_resume(args).folder == tmp_path


def _tensorboard_steps(folder: Path) -> list[list[int]]:
    """The steps of ``train/loss`` in each TensorBoard event file of ``folder``, oldest first."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(folder.glob("events.out.tfevents.*"), key=lambda f: f.stat().st_mtime)
    steps = []
    for file in files:
        events = EventAccumulator(str(file))
        events.Reload()
        tags = events.Tags()["scalars"]
        steps.append([e.step for e in events.Scalars("train/loss")] if "train/loss" in tags else [])
    return steps


@pytest.mark.slow
def test_ctrl_c_saves_and_the_run_resumes_from_its_folder_alone(tmp_path):
    first = tmp_path / "first"
    small = [o for o in TINY if o != "logger=none"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    process = subprocess.Popen(
        _command(*small, "trainer.max_steps=100000", "monitor.log_every=5", "seed=3",
                 f"hydra.run.dir={first}"),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    log = first / "train.log"
    deadline = time.time() + 300
    while process.poll() is None and time.time() < deadline:
        if log.exists() and "step 10/" in log.read_text():
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err[-2000:]  # 128 + SIGINT
    metrics = json.loads((first / "metrics.json").read_text())
    stopped = metrics["steps"]
    assert metrics["stop_reason"] == f"SIGINT at step {stopped}"
    assert f"stopped by SIGINT at step {stopped}; last.ckpt and metrics.json saved; resume " \
        f"with: deepinn train resume={first}" in err
    assert "Traceback" not in err

    # An override that makes the checkpoint incompatible is named, with both values.
    other = _run(f"resume={first}", "net.hidden=[16,16]", cwd=tmp_path)
    assert other.returncode == 1
    assert "the override net.hidden=[16,16] changes net.hidden: [8, 8] in the checkpoint, " \
        "[16, 16] now" in other.stderr, other.stderr[-2000:]

    # The folder alone (its stored overrides), and a longer run: it continues in its own folder.
    resumed = _run(f"resume={first}", f"trainer.max_steps={stopped + 10}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((first / "metrics.json").read_text())["steps"] == stopped + 10
    assert not (tmp_path / "outputs").exists()  # no new run folder
    # Its TensorBoard curves continue in the same folder, from the step it stopped at.
    before, after = _tensorboard_steps(first / "tensorboard")
    assert max(before) <= stopped <= min(after) and max(after) >= stopped + 5


def test_a_resume_takes_the_run_s_config_dir_and_names_a_missing_one(tmp_path):
    import argparse

    from deepinn._errors import ConfigurationError
    from deepinn.app._resume import plan_resume

    run, conf = tmp_path / "run", tmp_path / "conf"
    (run / ".hydra").mkdir(parents=True)
    conf.mkdir()
    (run / ".hydra" / "overrides.yaml").write_text("- +experiment=mine\n")
    (run / ".hydra" / "hydra.yaml").write_text(
        "hydra:\n  runtime:\n    config_sources:\n    - path: pkg://deepinn.conf\n"
        f"      provider: main\n    - path: file://{conf}\n      provider: command-line\n"
    )
    args = argparse.Namespace(overrides=[f"resume={run}"], config_dir=None)
    plan_resume(args)
    assert args.config_dir == str(conf)
    assert args.overrides == ["+experiment=mine", f"resume={run}"]
    conf.rmdir()
    with pytest.raises(ConfigurationError, match=r"--config-dir .*conf, which is no longer a "
                                                 r"folder.*--config-dir <folder>"):
        plan_resume(argparse.Namespace(overrides=[f"resume={run}"], config_dir=None))


@pytest.mark.slow
def test_a_short_run_prints_its_progress_to_the_last_step_and_nothing_else(tmp_path):
    """A 400-step run off a terminal (the default optimizer's L-BFGS phase never reached, and
    Python's warnings shown): progress lines to 400/400 with each term, the error, the speed
    and the time left; no warning with a file and line, no Lightning tip, no device lines."""
    small = [o for o in TINY if o not in ("logger=none", "optimizer=adam")]
    result = subprocess.run(
        _command(*small, "trainer.max_steps=400", "monitor.log_every=100",
                 f"hydra.run.dir={tmp_path / 'run'}"),
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONWARNINGS="default::UserWarning"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    steps = [line.split(" - ", 1)[1] for line in output.splitlines() if " - step " in line]
    assert [line.split()[1] for line in steps] == ["100/400", "200/400", "300/400", "400/400"]
    assert re.match(r"step 400/400  loss \S+ \((pde|boundary) \S+, (pde|boundary) \S+\)  "
                    r"rel_l2 \S+  \S+ steps/s  0:00:00 left$", steps[-1]), steps[-1]
    assert "(LBFGS) starts at step 1000, but the run stops at max_steps = 400" in output
    for noise in ("UserWarning", "Warning:", "Tip:", "GPU available", "TPU available",
                  "litlogger", "`Trainer.fit` stopped"):
        assert noise not in output, output
    assert not re.search(r"\.py:\d+", output), output
