"""Fake installed plugins for the registry and CLI tests (helpers only: no tests here).

A fake plugin is a real module and a real ``*.dist-info`` folder (``METADATA`` and
``entry_points.txt``) under a temporary directory, so its entry points are bound to a
distribution exactly as pip would install them.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

__all__ = ["DOMAIN_PLUGIN", "FakePlugins", "fake_plugins", "plugin_source"]

DOMAIN_PLUGIN = """
from dataclasses import dataclass

from deepinn.domains import Circle
from deepinn.plugins import Registration, hookimpl
from deepinn.spaces import R2


@dataclass
class DiskParams:
    radius: float = 1.0
    variable: str = "x"


def Disk(params):
    return Circle(R2(params.variable), [0.0, 0.0], params.radius)


@hookimpl
def deepinn_domains():
    return [Registration("{name}", Disk, DiskParams, "A disk of some radius")]
"""


def plugin_source(hook: str = "deepinn_domains", name: str = "disk") -> str:
    """Source of a plugin module whose ``hook`` registers one component called ``name``."""
    return DOMAIN_PLUGIN.replace("deepinn_domains", hook).replace("{name}", name)


class FakePlugins:
    """Writes fake plugin distributions under ``root`` (which must be on ``sys.path``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def add(self, entry_point: str, source: str, distribution: str = "fake-plugin") -> str:
        """Install a plugin module under a unique module name; return that module name."""
        module = f"fake_{entry_point}_{uuid.uuid4().hex[:8]}"
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{distribution.replace('-', '_')}-1.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n"
        )
        eps = info / "entry_points.txt"
        lines = eps.read_text().splitlines() if eps.exists() else ["[deepinn]"]
        lines.append(f"{entry_point} = {module}")
        eps.write_text("\n".join(lines) + "\n")
        self.modules.append(module)
        return module

    def entry_points(self) -> list[metadata.EntryPoint]:
        """Every fake entry point, each bound to its distribution, in file order."""
        found: list[metadata.EntryPoint] = []
        for info in sorted(self.root.glob("*.dist-info")):
            found.extend(metadata.PathDistribution(info).entry_points.select(group="deepinn"))
        return found

    def cleanup(self) -> None:
        """Forget the fake modules so no test sees another's."""
        for module in self.modules:
            sys.modules.pop(module, None)


def fake_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlugins]:
    """A fresh folder of fake plugin distributions, on ``sys.path`` for this test only.

    Test modules wrap it in a fixture: ``yield from fake_plugins(tmp_path, monkeypatch)``.
    """
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    plugins = FakePlugins(root)
    yield plugins
    plugins.cleanup()
