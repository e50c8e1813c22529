"""Shared test set-up: plugins load strictly, so a broken built-in fails loudly."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("DEEPINN_STRICT_PLUGINS", "1")


@pytest.fixture
def registry():
    """A fresh registry per test (no process-wide singleton)."""
    from deepinn.plugins import load_registry

    return load_registry(strict=True)
