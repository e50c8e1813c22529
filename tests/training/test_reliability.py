"""Reliability in-process (#15): run folder ownership, checkpoint safety, resume checks and
settings, metrics.json, SIGTERM, the memory estimate, progress lines."""

from __future__ import annotations

import errno
import json
import math
import os
import pickle
import signal
import threading
from pathlib import Path

import pytest
import torch

import deepinn as dp
from deepinn._errors import spoken_as
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import RunConfig, fit
from deepinn.training.service._checkpoint import (
    AtomicCheckpointIO,
    find_checkpoint,
    load_checkpoint_safely,
)
from deepinn.training.service._runfolder import (
    claim_run_folder,
    make_unique_folder,
    release_run_folder,
)
from deepinn.training.service._signals import RunInterruptedError

QUIET = {"enable_progress_bar": False}


def _problem():
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 16),
                        residual=lambda f: -f.laplacian("u") / math.pi**2, source=exact)
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("poisson1d", interval, [pde, bc], exact=exact)


def _net(hidden=(8,)):
    torch.manual_seed(0)
    return dp.nn.FullyConnected([1, *hidden, 1], "tanh", bounds=([0.0], [1.0]))


HP = {"problem": {"name": "p"}, "domain": {"name": "interval"}, "net": {"hidden": [8]},
      "sampler": {"name": "grid"}, "dtype": "float32", "optimizer": {"name": "adam", "lr": 1e-3}}


def _fit(run_dir, steps=4, hparams=HP, **knobs):
    knobs.setdefault("eval_points", 50)
    return fit(_problem(), _net(), max_steps=steps, run_dir=run_dir, logger=False,
               trainer_options=QUIET, hparams=hparams, checkpoint_every=2, val_every=2, **knobs)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("finished")
    _fit(run)
    return run


# ------------------------------------------------------------------ run folder ownership
def test_a_used_run_folder_is_refused(finished_run):
    with pytest.raises(dp.ConfigurationError, match=r"belongs to another run.*resume=") as info:
        claim_run_folder(finished_run)
    assert f"deepinn.fit(..., resume='{finished_run}')" in str(info.value)
    with spoken_as("cli"):
        assert f"deepinn train resume={finished_run}" in str(info.value)


def test_a_run_folder_can_be_resumed_in_place(finished_run):
    claim_run_folder(finished_run, resume=finished_run / "checkpoints" / "last.ckpt")
    release_run_folder(finished_run)


def test_a_folder_locked_by_another_process_is_refused(tmp_path):
    import fcntl

    (tmp_path / ".lock").write_text("pid 1\n")  # a .lock alone is not "used"; held, it refuses
    with open(tmp_path / ".lock") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        pid = os.fork()
        if pid == 0:  # a second process tries the locked folder
            try:
                claim_run_folder(tmp_path, resume=tmp_path)
            except dp.ConfigurationError as error:
                os._exit(0 if "in use by a running training" in str(error) else 2)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_default_folder_names_are_unique(tmp_path):
    first, second = make_unique_folder(tmp_path / "run"), make_unique_folder(tmp_path / "run")
    assert (first.name, second.name) == ("run", "run-1")


def test_secondary_ddp_ranks_are_not_refused(finished_run, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    claim_run_folder(finished_run)  # rank 0 owns it; nothing raised, nothing held


def test_an_uncreatable_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(dp.ConfigurationError, match="Cannot create the run folder"):
        claim_run_folder(blocker / "run")


# ------------------------------------------------------------------ metrics.json
def test_metrics_json_is_valid_json_with_nan_as_null(tmp_path):
    from deepinn.training.service._callbacks import write_metrics

    write_metrics(tmp_path, {"rel_l2": math.nan, "losses": {"pde": math.inf}, "steps": 3})
    data = json.loads((tmp_path / "metrics.json").read_text(), parse_constant=pytest.fail)
    assert data == {"rel_l2": None, "losses": {"pde": None}, "steps": 3}


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_writes_are_atomic_and_a_full_disk_is_one_line(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    target = tmp_path / "best-step=2.ckpt"

    def full(obj, handle):
        handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(dp.TrainingError, match=r"disk is full.*no partial file.*resume=") as info:
        io.save_checkpoint({"state_dict": {}}, target)
    assert "\n" not in str(info.value)
    assert str(info.value).endswith(f"continue with: deepinn.fit(..., resume='{tmp_path.parent}')")
    with spoken_as("cli"):
        assert str(info.value).endswith(f"continue with: deepinn train resume={tmp_path.parent}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_torch_s_failed_zip_write_on_a_full_disk_is_the_same_one_line(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()

    def full(obj, handle):
        handle.write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc] PytorchStreamWriter failed "
                           "writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", full)
    monkeypatch.setattr("deepinn.training.service._checkpoint._free_bytes", lambda folder: 0)
    with pytest.raises(dp.TrainingError, match=r"disk is full.*no partial file.*resume="):
        io.save_checkpoint({"state_dict": {}}, tmp_path / "last.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "damage", ["empty", "truncated", "bitflip", "text", "pickle", "not_a_checkpoint"]
)
def test_a_bad_checkpoint_is_refused_in_one_line(finished_run, tmp_path, damage):
    source = (finished_run / "checkpoints" / "last.ckpt").read_bytes()
    bad = tmp_path / "bad.ckpt"
    if damage == "empty":
        bad.write_bytes(b"")
    elif damage == "truncated":
        bad.write_bytes(source[: len(source) // 2])
    elif damage == "bitflip":
        (tmp_path / "bad.ckpt.sha256").write_text(
            (finished_run / "checkpoints" / "last.ckpt.sha256").read_text()
        )
        flipped = bytearray(source)
        flipped[len(flipped) // 2] ^= 0x10
        bad.write_bytes(bytes(flipped))
    elif damage == "text":
        bad.write_text("hello\n")
    elif damage == "pickle":
        class Evil:
            def __reduce__(self):
                return (os.system, ("echo pwned",))

        with open(bad, "wb") as handle:
            pickle.dump({"state_dict": Evil()}, handle)
    else:
        torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(dp.ConfigurationError, match="resume") as info:
        load_checkpoint_safely(bad)
    message = str(info.value)
    assert "\n" not in message and "weights_only=False" not in message


def test_resume_from_best_or_last_of_a_run_folder(finished_run):
    assert find_checkpoint(finished_run).name == "last.ckpt"
    assert find_checkpoint(finished_run, "best").name.startswith("best-step=")
    with pytest.raises(dp.ConfigurationError, match="resume_from"):
        RunConfig(resume_from="worst")


def test_resume_with_another_network_names_the_differing_keys(finished_run, tmp_path):
    changed = dict(HP, net={"hidden": [16]})
    with pytest.raises(
        dp.ConfigurationError, match=r"net.hidden: \[8\] in the checkpoint, \[16\] now"
    ):
        _fit(tmp_path / "new", steps=6, hparams=changed, resume=str(finished_run))


def test_resume_without_stored_config_and_another_size_is_one_line(finished_run, tmp_path):
    with pytest.raises(dp.ConfigurationError, match="does not fit this network"):
        fit(_problem(), _net((16,)), max_steps=6, run_dir=tmp_path / "new", logger=False,
            trainer_options=QUIET, resume=str(finished_run), eval_points=50)


def _python_fit(run_dir, problem=None, steps=4, **knobs):
    return fit(problem or _problem(), _net(), max_steps=steps, run_dir=run_dir, logger=False,
               trainer_options=QUIET, checkpoint_every=2, val_every=2, eval_points=50, **knobs)


def test_a_python_run_resumed_into_another_problem_or_setting_is_refused(tmp_path):
    _python_fit(tmp_path / "first")
    first = tmp_path / "first"
    with pytest.raises(dp.ConfigurationError, match=r"or continue that run with: "
                       rf"deepinn.fit\(\.\.\., resume='{first}'\)") as info:
        _python_fit(first)  # the advice names fit's arguments
    with spoken_as("cli"):  # and the command line its own
        assert f"continue that run with: deepinn train resume={first}" in str(info.value)
    other = _problem()
    other.name = "other"
    for label, problem, knobs, key in [
        ("problem", other, {}, r"problem.name: 'poisson1d' in the checkpoint, 'other' now"),
        ("dtype", None, {"dtype": torch.float64}, r"dtype: 'float32' in the checkpoint"),
        ("optimizer", None, {"phases": dp.training.lbfgs()}, r"optimizer.name: 'Adam' in the"),
    ]:
        with pytest.raises(dp.ConfigurationError, match=key):
            _python_fit(tmp_path / label, problem, steps=6, resume=str(tmp_path / "first"), **knobs)
        assert not (tmp_path / label / "checkpoints").exists()
    result = _python_fit(tmp_path / "same", steps=6, resume=str(tmp_path / "first"),
                         phases=dp.training.adam(lr=1e-4))  # the optimizer's numbers may change
    assert result.metrics["steps"] == 6 and (tmp_path / "same" / "checkpoints").exists()


def test_resume_applies_and_reports_a_lower_learning_rate(finished_run, tmp_path, capsys):
    from deepinn.training import Phase

    phases = [Phase(lambda p: torch.optim.Adam(p, lr=1e-4), steps=None)]
    result = fit(
        _problem(),
        _net(),
        phases=phases,
        max_steps=6,
        run_dir=tmp_path / "new",
        logger=False,
        trainer_options=QUIET,
        resume=str(finished_run),
        eval_points=50,
    )
    assert result.module.optimizers().optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert "optimizer 0 lr: 0.001 -> 0.0001" in capsys.readouterr().out


def test_divergence_advice_names_the_resume_command(tmp_path):
    problem = _problem()
    calls = {"n": 0}
    base = problem.constraints[0].residual_fn

    def poisoned(field):
        calls["n"] += 1
        return base(field) * (math.nan if calls["n"] > 5 else 1.0)

    problem.constraints[0].residual_fn = poisoned
    problem.constraints[0].infer_hints = False  # count the training steps' calls only
    with pytest.raises(dp.TrainingError, match="Non-finite loss") as info:
        fit(problem, _net(), max_steps=20, run_dir=tmp_path, logger=False, trainer_options=QUIET,
            checkpoint_every=2, val_every=2, eval_points=50, field_mode="reverse")
    assert f"deepinn.fit(..., resume='{tmp_path}', phases=adam(lr=<lower>))" in str(info.value)
    with spoken_as("cli"):
        assert f"deepinn train resume={tmp_path} optimizer.lr=<lower>" in str(info.value)


# ------------------------------------------------------------------ SIGTERM
def test_sigterm_saves_last_checkpoint_and_metrics_with_the_reason(tmp_path):
    problem = _problem()
    base = problem.constraints[0].residual_fn
    calls = {"n": 0}

    def slow(field):
        calls["n"] += 1
        if calls["n"] == 3:
            threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGTERM)).start()
            threading.Event().wait(0.3)
        return base(field)

    problem.constraints[0].residual_fn = slow
    with pytest.raises(RunInterruptedError, match=f"SIGTERM at step .*resume='{tmp_path}'") as info:
        fit(problem, _net(), max_steps=1000, run_dir=tmp_path, logger=False, trainer_options=QUIET,
            eval_points=50)
    with spoken_as("cli"):
        assert str(info.value).endswith(f"resume with: deepinn train resume={tmp_path}")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stop_reason"].startswith("SIGTERM at step ")
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == metrics["steps"] == info.value.metrics["steps"]


# ------------------------------------------------------------------ progress lines
def test_progress_is_lines_when_stdout_is_not_a_terminal(tmp_path, capsys):
    fit(_problem(), _net(), max_steps=4, logger=False, log_every=2, eval_points=50,
        trainer_options={"enable_progress_bar": True})
    out = capsys.readouterr().out
    assert "step 2/4  loss " in out and "step 4/4  loss " in out and "\r" not in out


@pytest.mark.parametrize(
    ("change", "key"),
    [({"optimizer": {"name": "lbfgs"}}, "optimizer.name"), ({"seed": 99}, "seed"),
     ({"weighting": {"name": "grad_norm"}}, "weighting.name")],
)
def test_resume_with_another_optimizer_preset_seed_or_weighting_is_refused(change, key):
    from deepinn.training.service._compatible import check_compatible

    stored = {
        **HP,
        "optimizer": {"name": "adam", "lr": 1e-3},
        "seed": 0,
        "weighting": {"name": "none"},
    }
    current = {**stored, **change}
    with pytest.raises(dp.ConfigurationError, match=rf"{key}: .* in the checkpoint"):
        check_compatible(Path("run"), stored, current)
    check_compatible(Path("run"), stored, {**stored, "optimizer": {"name": "adam", "lr": 1e-4}})


@pytest.mark.parametrize(
    ("network", "match"),
    [
        (
            lambda x: x,
            r"network = <function .* not a torch.nn.Module .*FullyConnected\(\[1, 32, 32, 1\]",
        ),
        (
            dp.nn.FullyConnected([2, 8, 1]),
            r"takes 2 inputs, but problem 'poisson1d' is posed in .*1 coordinate",
        ),
        (dp.nn.FullyConnected([1, 8, 3]), r"has 3 outputs, but problem 'poisson1d' has 1: \['u'\]"),
    ],
)
def test_a_network_that_cannot_be_the_problem_s_is_refused_before_training(
    network, match, tmp_path
):
    with pytest.raises(dp.ConfigurationError, match=match):
        fit(
            _problem(),
            network,
            max_steps=4,
            run_dir=tmp_path / "run",
            logger=False,
            trainer_options=QUIET,
        )
    assert not (tmp_path / "run").exists()


def test_a_phase_the_run_never_reaches_is_warned_of():
    with pytest.warns(
        UserWarning, match=r"phase 1 \(LBFGS\) starts at step 100, but .* max_steps = 4"
    ):
        fit(_problem(), _net(), phases=dp.training.adam_lbfgs(adam_steps=100), max_steps=4,
            logger=False, trainer_options=QUIET, eval_points=50)


def test_a_negative_sampler_seed_is_refused():
    with pytest.raises(dp.ConfigurationError, match=r"seed must be an integer >= 0 .* got -1"):
        dp.samplers.RandomUniformSampler(
            dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0), 4, seed=-1
        )


def test_a_problem_with_two_outputs_reports_each_output_s_error(tmp_path):
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.cat([torch.sin(math.pi * x), 100 * x], dim=1)  # noqa: E731
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, 16),
                        residual=lambda f: torch.cat([f["u"], f["v"]], dim=1), columns=2)
    problem = dp.Problem("pair", interval, [pde], outputs=("u", "v"), exact=exact)
    torch.manual_seed(0)
    result = fit(problem, dp.nn.FullyConnected([1, 8, 2]), max_steps=2, logger=False,
                 trainer_options=QUIET, eval_points=50)
    per_output = result.metrics["rel_l2_per_output"]
    x, values = problem.evaluation_set(50)
    with torch.no_grad():
        prediction = result.module.predict_points(x).double()
    for i, name in enumerate(("u", "v")):
        column = (prediction[:, i] - values[:, i]).norm() / values[:, i].norm()
        assert per_output[name] == pytest.approx(float(column), rel=1e-5)
    assert per_output["u"] != pytest.approx(result.metrics["rel_l2"])  # v's scale dominates it


def test_a_resume_with_nothing_left_to_train_is_refused(finished_run, tmp_path):
    with pytest.raises(dp.ConfigurationError, match=r"checkpoint is at step 4, and max_steps = 4"):
        _fit(tmp_path / "again", steps=4, resume=str(finished_run))
    assert not (tmp_path / "again" / "checkpoints").exists()


# ------------------------------------------------------------- a checkpoint without its description
def test_a_checkpoint_stripped_of_its_configuration_is_refused(finished_run, tmp_path):
    state = torch.load(finished_run / "checkpoints" / "last.ckpt", weights_only=True)
    del state["hyper_parameters"]
    stripped = tmp_path / "stripped.ckpt"
    torch.save(state, stripped)
    with pytest.raises(dp.ConfigurationError, match="records no configuration") as info:
        _fit(tmp_path / "new", steps=6, resume=str(stripped))  # same shapes: it would load
    assert "\n" not in str(info.value)
    assert not (tmp_path / "new" / "checkpoints").exists()


def test_weights_of_another_shape_are_named_with_both_shapes(finished_run, tmp_path):
    # a Python run resuming a command-line checkpoint: no configuration to compare, the weights
    # are checked by name and shape against the network
    with pytest.raises(dp.ConfigurationError,
                       match=r"does not fit this network \(.*: \[8, 1\] in the checkpoint, "
                             r"\[16, 1\] in this run"):
        fit(_problem(), _net((16,)), max_steps=6, run_dir=tmp_path / "new", logger=False,
            trainer_options=QUIET, resume=str(finished_run), eval_points=50)
