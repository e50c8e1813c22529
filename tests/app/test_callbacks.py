"""Callbacks chosen on the command line (``callbacks=[early_stop]``) and from Python
(``fit(callbacks=[...])``): built from the registry, refused with the form that works."""

from __future__ import annotations

import json

import pytest

from deepinn import UnknownNameError
from deepinn.app import compose, register_configs, train, typed_config
from deepinn.app._build import build_callbacks
from deepinn.plugins import load_registry
from deepinn.training.service._early_stop import EarlyStop

TINY = ["problem.n_interior=32", "problem.n_boundary=8", "eval_points=100", "net.hidden=[4]",
        "threads=1", "logger=none", "optimizer=adam"]

pytestmark = pytest.mark.usefixtures("keep_root_logging")  # Hydra's job sets up train.log


@pytest.fixture(scope="module")
def configured():
    registry = load_registry(strict=True)
    register_configs(registry)
    return registry


def _error(capsys: pytest.CaptureFixture[str], overrides: list[str]) -> str:
    with pytest.raises(SystemExit) as info:
        train([*TINY, "trainer.max_steps=2", *overrides])
    assert info.value.code == 1
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_none_are_chosen_by_default(configured):
    assert typed_config(compose([])).callbacks == {}


def test_chosen_by_name_with_parameters_in_order(configured):
    config = typed_config(compose(
        ["callbacks=[early_stop]", "callbacks.early_stop.patience=200",
         "callbacks.early_stop.monitor=train/loss"]
    ))
    [callback] = build_callbacks(config, configured)
    assert isinstance(callback, EarlyStop)
    assert (callback.patience, callback.requested) == (200, "train/loss")


def test_a_misspelt_name_lists_the_registered_ones_and_the_nearest(capsys):
    err = _error(capsys, ["callbacks=[early_stp]"])
    assert "Unknown callbacks option 'early_stp'" in err
    assert "Did you mean 'early_stop'?" in err and "callbacks=[<name>]" in err


def test_a_parameter_of_a_callback_not_chosen_says_to_choose_it(capsys):
    err = _error(capsys, ["callbacks.early_stop.patience=3"])
    assert "no callbacks option 'early_stop' is chosen" in err
    assert "callbacks=[early_stop]" in err


def test_a_parameter_added_with_plus_for_a_callback_not_chosen_says_to_choose_it(capsys):
    err = _error(capsys, ["+callbacks.early_stop.patience=3"])
    assert "no callback 'early_stop' is chosen: choose it with callbacks=[early_stop]" in err


def test_a_misspelt_parameter_names_the_nearest(capsys):
    err = _error(capsys, ["callbacks=[early_stop]", "callbacks.early_stop.patiense=3"])
    assert "'patiense'" in err and "Did you mean 'patience'?" in err


def test_a_bad_value_is_refused_before_the_run(capsys, tmp_path):
    run = tmp_path / "run"
    err = _error(capsys, ["callbacks=[early_stop]", "callbacks.early_stop.patience=0",
                          f"hydra.run.dir={run}"])
    assert "patience = 0" in err and not run.exists()


@pytest.mark.parametrize("override", ["trainer.callbacks=[x]", "+trainer.callbacks=[x]"])
def test_trainer_callbacks_points_to_the_callbacks_group(capsys, override):
    err = _error(capsys, [override])
    assert "trainer.callbacks" in err
    assert "callbacks=[early_stop]" in err and "callbacks.early_stop.patience=200" in err


def test_a_disabled_plugins_callback_is_said_to_be_disabled(capsys, monkeypatch):
    if not load_registry(disabled=["example"]).disabled:
        pytest.skip("the example plugin (deepinn-example) is not installed")
    monkeypatch.setenv("DEEPINN_DISABLE_PLUGINS", "example")
    err = _error(capsys, ["callbacks=[example_residual_histogram]"])
    assert "Unknown callback" in err and "'example_residual_histogram'" in err
    assert "Installed but disabled" in err and "example (deepinn-example)" in err
    with pytest.raises(UnknownNameError, match=r"Installed but disabled .*example"):
        load_registry().callbacks.get("example_residual_histogram")


@pytest.mark.parametrize(
    ("monitor", "named"),
    [("auto", "val/rel_l2"), ("error/rel_l2", "error/rel_l2")],  # the second: TensorBoard's tag
)
def test_early_stop_ends_the_run_and_says_why(tmp_path, monitor, named):
    run = tmp_path / "run"
    train([*TINY, "trainer.max_steps=200", "monitor.val_every=10", "callbacks=[early_stop]",
           f"callbacks.early_stop.monitor={monitor}", "callbacks.early_stop.patience=20",
           "callbacks.early_stop.min_delta=100", f"hydra.run.dir={run}"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 30  # best at the first check (10), no improvement for 20 steps
    assert metrics["stop_reason"].startswith(f"early stop at step 30: {named} did not improve")


def test_early_stop_on_an_unmeasured_value_lists_the_measured_ones(capsys, tmp_path):
    err = _error(capsys, ["trainer.max_steps=20", "monitor.val_every=10",
                          "callbacks=[early_stop]", "callbacks.early_stop.monitor=val/rel_l3",
                          f"hydra.run.dir={tmp_path / 'run'}"])
    assert "the monitored 'val/rel_l3' is not measured" in err
    assert "train/loss" in err and "val/rel_l2" in err


def test_early_stop_on_one_loss_term(tmp_path):
    run = tmp_path / "run"
    train([*TINY, "trainer.max_steps=200", "monitor.val_every=10", "callbacks=[early_stop]",
           "callbacks.early_stop.monitor=train/loss/pde", "callbacks.early_stop.patience=10",
           "callbacks.early_stop.min_delta=100", f"hydra.run.dir={run}"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 20 and "train/loss/pde did not improve" in metrics["stop_reason"]
