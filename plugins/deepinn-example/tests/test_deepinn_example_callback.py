"""The callback: chosen on the command line, it adds its figure to the run's TensorBoard file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from deepinn import ConfigurationError
from deepinn.plugins import Registry, load_registry

from deepinn_example.callback import ResidualHistogramParams

TAG = "example/residual_histogram"
TINY = [
    "problem.n_interior=64", "problem.n_boundary=16", "eval_points=200", "net.hidden=[8]",
    "threads=1", "optimizer=adam", "trainer.max_steps=20", "monitor.val_every=10",
]


@pytest.fixture
def registry() -> Registry:
    return load_registry(strict=True, disabled=())


@pytest.fixture
def keep_root_logging() -> Iterator[None]:
    """An in-process ``deepinn train`` sets up the root logger for its train.log; put it back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level


def _images(run: Path) -> dict[str, list[int]]:
    """The image tags of the run's TensorBoard event files, with the steps of each."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found: dict[str, list[int]] = {}
    for events in sorted((run / "tensorboard").rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"images": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["images"]:
            found.setdefault(tag, []).extend(e.step for e in accumulator.Images(tag))
    return found


@pytest.mark.usefixtures("keep_root_logging")
def test_chosen_on_the_command_line_it_logs_its_figure(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from deepinn.app import train

    run = tmp_path / "run"
    train([*TINY, "callbacks=[example_residual_histogram]", f"hydra.run.dir={run}"])
    assert sorted(_images(run).get(TAG, [])) == [10, 20]  # at each validation


@pytest.mark.usefixtures("keep_root_logging")
def test_its_parameters_are_set_on_the_command_line(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from deepinn.app import train

    run = tmp_path / "run"
    train([*TINY, "callbacks=[example_residual_histogram]",
           "callbacks.example_residual_histogram.every=2",
           "callbacks.example_residual_histogram.tag=mine/residuals", f"hydra.run.dir={run}"])
    images = _images(run)
    assert images.get("mine/residuals") == [10] and TAG not in images


def test_built_from_python_by_name(registry: Registry) -> None:
    import lightning.pytorch as pl

    callback = registry.callbacks.build("example_residual_histogram", {"bins": 10})
    assert isinstance(callback, pl.Callback) and callback.params.bins == 10


def test_a_bad_parameter_is_refused_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="bins = 0"):
        ResidualHistogramParams(bins=0)
