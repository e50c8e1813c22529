"""The ``deepinn`` command line: ``deepinn plugins``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from plugin_fakes import FakePlugins, fake_plugins, plugin_source

from deepinn.__main__ import main
from deepinn.plugins import DISABLE_ENV, KINDS, STRICT_ENV, _discovery

ROOT = Path(__file__).resolve().parents[2]

BROKEN_PLUGIN = 'raise ImportError("needs the frobnicate package")\n'


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlugins]:
    """Fake installed plugins for this test only."""
    yield from fake_plugins(tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def _only_fake_plugins(fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the spaces built-in and this test's fake plugins, nothing else installed."""
    monkeypatch.setattr(_discovery, "BUILTIN_PLUGINS", ("deepinn.spaces._plugin",))
    monkeypatch.setattr(metadata, "entry_points", lambda group: fakes.entry_points())
    monkeypatch.delenv(STRICT_ENV, raising=False)
    monkeypatch.delenv(DISABLE_ENV, raising=False)


def _row(*cells: str) -> re.Pattern[str]:
    return re.compile(r"^\s+" + r"\s+".join(re.escape(cell) for cell in cells), re.M)


def test_plugins_lists_builtin_spaces(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert _row("r1", "deepinn.spaces._plugin", "deepinn", "R^1 with one named variable").search(
        out
    )


def test_plugins_lists_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plugins"])
    headers = re.findall(r"^(\w+) \(\d+\):$", capsys.readouterr().out, re.M)
    assert headers == list(KINDS)


def test_plugins_lists_a_third_party_component(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("shapes", plugin_source(name="disk"), distribution="shapes-dist")
    main(["plugins"])
    assert _row("disk", "shapes", "shapes-dist", "A disk of some radius").search(
        capsys.readouterr().out
    )


def test_kind_filter(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plugins", "--kind", "spaces"])
    out = capsys.readouterr().out
    assert (out.startswith("spaces (3):"), "domains (" in out) == (True, False)


def test_kind_filter_accepts_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plugins", "--kind", "space"])
    assert capsys.readouterr().out.startswith("spaces (3):")


def test_kind_filter_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plugins", "--kind", "domains", "--kind", "spaces"])
    headers = re.findall(r"^(\w+) \(\d+\):$", capsys.readouterr().out, re.M)
    assert headers == ["domains", "spaces"]


def test_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["plugins", "--kind", "domian"])
    assert (info.value.code, "Unknown kind 'domian'" in capsys.readouterr().err) == (2, True)


def test_failed_plugin_is_listed_with_the_reason(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("frob", BROKEN_PLUGIN, distribution="frob-dist")
    assert main(["plugins", "--no-strict"]) == 0
    out = capsys.readouterr().out
    assert (
        "plugins that failed to load (1):\n  frob (distribution frob-dist): ImportError: needs "
        "the frobnicate package\n"
    ) in out


def test_failed_plugin_does_not_hide_the_others(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("frob", BROKEN_PLUGIN, distribution="frob-dist")
    fakes.add("shapes", plugin_source(name="disk"), distribution="shapes-dist")
    main(["plugins", "--no-strict"])
    assert _row("disk", "shapes", "shapes-dist", "A disk of some radius").search(
        capsys.readouterr().out
    )


def test_failed_plugin_is_not_also_warned(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("frob", BROKEN_PLUGIN)
    main(["plugins", "--no-strict"])
    assert capsys.readouterr().err == ""


def test_no_failure_section_when_all_load(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plugins"])
    assert "failed to load" not in capsys.readouterr().out


def test_strict_failure_exits_non_zero(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("frob", BROKEN_PLUGIN, distribution="frob-dist")
    assert main(["plugins", "--strict"]) == 1
    assert "'frob' (distribution 'frob-dist') failed to load" in capsys.readouterr().err


def test_strict_from_environment_exits_non_zero(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.add("frob", BROKEN_PLUGIN)
    monkeypatch.setenv(STRICT_ENV, "1")
    assert main(["plugins"]) == 1


def test_disable_skips_the_plugin(fakes: FakePlugins, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.add("frob", BROKEN_PLUGIN)
    assert main(["plugins", "--strict", "--disable", "frob"]) == 0
    out = capsys.readouterr().out
    assert "failed to load" not in out and out.count("frob") == 1  # only as disabled
    assert "disabled plugins: frob (fake-plugin)" in out


def test_duplicate_names_are_listed_with_their_qualified_forms(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("first", plugin_source(name="disk"), distribution="a-dist")
    fakes.add("second", plugin_source(name="disk"), distribution="b-dist")
    assert main(["plugins", "--kind", "domains"]) == 0
    out = capsys.readouterr().out
    assert "domain 'disk' is registered by 2 plugins" in out and "first:disk, second:disk" in out
    assert main(["show", "domain", "disk"]) == 1
    assert "Two plugins register the domain 'disk'" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_console_script_is_declared() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '[project.scripts]\ndeepinn = "deepinn.__main__:main"' in pyproject


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop(STRICT_ENV, None)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_python_m_deepinn_plugins_lists_spaces() -> None:
    result = _run([sys.executable, "-m", "deepinn", "plugins", "--kind", "spaces"])
    assert result.returncode == 0, result.stderr
    assert _row("r2", "deepinn.spaces._plugin", "deepinn").search(result.stdout)


@pytest.mark.slow
def test_installed_console_script_lists_spaces() -> None:
    script = shutil.which("deepinn")
    if script is None:
        pytest.skip("deepinn is not installed (pip install -e .) so there is no console script")
    result = _run([script, "plugins", "--kind", "spaces"])
    assert (result.returncode, "r3" in result.stdout) == (0, True), result.stderr


def test_a_disabled_plugin_is_named_where_its_component_is_missing(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("shapes", plugin_source(name="fake_disk_disabled"), distribution="shapes-dist")
    from deepinn.plugins import load_registry

    registry = load_registry(strict=True, builtins=False, disabled=["shapes"])
    with pytest.raises(Exception, match=r"Installed but disabled .*shapes \(shapes-dist\)"):
        registry.domains.get("fake_disk_disabled")
    assert main(["plugins", "--disable", "shapes", "--kind", "domains"]) == 0
    assert "disabled plugins: shapes (shapes-dist)" in capsys.readouterr().out


def test_a_typo_in_the_disable_list_is_reported(
    fakes: FakePlugins, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.add("shapes", plugin_source(name="fake_disk_typo"), distribution="shapes-dist")
    assert main(["plugins", "--disable", "shapse", "--kind", "domains"]) == 0
    out = capsys.readouterr().out
    assert "Unknown plugin to disable 'shapse'" in out and "Did you mean 'shapes'?" in out
