"""Shared test set-up: plugins load strictly, so a broken built-in fails loudly."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("DEEPINN_STRICT_PLUGINS", "1")


@pytest.fixture
def registry():
    """A fresh registry per test (no process-wide singleton)."""
    from deepinn.plugins import load_registry

    return load_registry(strict=True)


def _cxx() -> str | None:
    """The C++ compiler torch.compile's inductor would use on CPU, if there is one."""
    return next(
        (found for name in (os.environ.get("CXX"), "c++", "g++", "clang++")
         if name and (found := shutil.which(name))),
        None,
    )


def pytest_collection_modifyitems(config, items):
    """Tests marked ``needs_compiler`` skip, saying why, where no C++ compiler is installed
    (``-ra`` prints the reason; CI installs one, so there they run)."""
    if _cxx() is not None:
        return
    reason = "needs a C++ compiler for torch.compile (inductor); install one: apt-get install g++"
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "needs_compiler" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def keep_root_logging() -> Iterator[None]:
    """An in-process ``deepinn train`` (Hydra's job) sets up the root logger for its train.log;
    the next test gets the old handlers and level back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level
