"""Runs shared by the tests of finished runs: one tiny command-line run (the default Poisson
problem on the unit square, float64), trained once per session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

TINY = ["problem.n_interior=32", "problem.n_boundary=8", "eval_points=100", "net.hidden=[4]",
        "threads=1", "logger=none", "optimizer=adam", "trainer.max_steps=10", "dtype=float64",
        "trainer.enable_progress_bar=false"]
"""The overrides of the shared command-line run."""


def train_cli(run_dir: Path, *overrides: str) -> int:
    """``deepinn train <overrides> hydra.run.dir=<run_dir>`` in this process (quiet, one
    thread); the root logger's handlers and level as they were before."""
    from deepinn.app import train

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return train([*overrides, "threads=1", "logger=none", "trainer.enable_progress_bar=false",
                      f"hydra.run.dir={run_dir}"])
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level = handlers, level


@pytest.fixture(scope="session")
def cli() -> Callable[..., int]:
    """:func:`train_cli`."""
    return train_cli


@pytest.fixture(scope="session")
def tiny() -> list[str]:
    """:data:`TINY` (a copy)."""
    return list(TINY)


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished command-line run: ``deepinn train`` with :data:`TINY`."""
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    assert train_cli(run_dir, *TINY) == 0
    return run_dir
