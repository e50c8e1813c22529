"""Loading plugins into a registry: fake installed plugins, failures, strict mode, disabling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from plugin_fakes import FakePlugins, fake_plugins, plugin_source

from deepinn import DuplicateNameError, PluginError, UnknownNameError
from deepinn.plugins import (
    DISABLE_ENV,
    STRICT_ENV,
    PluginFailure,
    PluginWarning,
    Registration,
    _registry,
    hookimpl,
    load_registry,
)

BROKEN_PLUGIN = """
raise RuntimeError("the plugin's import blew up")
"""

TYPO_PLUGIN = """
from deepinn.plugins import hookimpl


@hookimpl
def deepinn_domain():
    return []
"""


def _load(fakes: FakePlugins, **kwargs: object) -> _registry.Registry:
    kwargs.setdefault("builtins", False)
    kwargs.setdefault("disabled", ())
    return load_registry(entry_points=fakes.entry_points(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlugins]:
    """Fake installed plugins for this test only."""
    yield from fake_plugins(tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def _no_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    monkeypatch.delenv(DISABLE_ENV, raising=False)


# -- an OK plugin ------------------------------------------------------------------------------


def test_plugin_domain_is_usable_by_name(fakes: FakePlugins) -> None:
    fakes.add("shapes", plugin_source(name="disk"))
    registry = _load(fakes, strict=True)
    disk = registry.build("domains", "disk", {"radius": 2.5})
    assert disk.radius == 2.5


def test_registration_records_provider_and_distribution(fakes: FakePlugins) -> None:
    fakes.add("shapes", plugin_source(name="disk"), distribution="shapes-dist")
    registration = _load(fakes, strict=True).get("domains", "disk")
    assert (registration.provider, registration.distribution) == ("shapes", "shapes-dist")


def test_installed_entry_point_is_discovered(fakes: FakePlugins) -> None:
    fakes.add("shapes", plugin_source(name="fake_disk_discovered"), distribution="shapes-dist")
    registry = load_registry(strict=True, builtins=False, disabled=())
    assert registry.get("domains", "fake_disk_discovered").distribution == "shapes-dist"


@dataclass
class _Params:
    side: float = 1.0


class _InCodePlugin:
    @hookimpl
    def deepinn_domains(self) -> list[Registration]:
        return [Registration("square", _Params, _Params, "A square")]


def test_plugin_object_passed_in_code_is_registered() -> None:
    registry = load_registry(
        plugins=[_InCodePlugin()], builtins=False, entry_points=(), strict=True
    )
    assert registry.get("domains", "square").distribution == "(registered in code)"


def test_each_load_is_a_fresh_registry(fakes: FakePlugins) -> None:
    fakes.add("shapes", plugin_source(name="disk"))
    _load(fakes, strict=True)
    assert load_registry(builtins=False, entry_points=(), strict=True).names("domains") == []


def test_builtin_spaces_are_registered_by_deepinn() -> None:
    registry = load_registry(entry_points=(), strict=True)
    assert {r.name: r.distribution for r in registry.registrations("spaces")} == {
        "r1": "deepinn",
        "r2": "deepinn",
        "r3": "deepinn",
    }


# -- a plugin that fails to import -------------------------------------------------------------


def test_broken_import_warns_naming_entry_point_distribution_and_error(
    fakes: FakePlugins,
) -> None:
    fakes.add("broken", BROKEN_PLUGIN, distribution="broken-dist")
    with pytest.warns(
        PluginWarning,
        match=r"'broken' \(distribution 'broken-dist'\).*"
        r"RuntimeError: the plugin's import blew up",
    ):
        _load(fakes, strict=False)


def test_broken_import_warning_says_how_to_disable(fakes: FakePlugins) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    with pytest.warns(PluginWarning, match=f"{DISABLE_ENV}=broken"):
        _load(fakes, strict=False)


def test_broken_plugin_does_not_stop_the_others(fakes: FakePlugins) -> None:
    fakes.add("a_broken", BROKEN_PLUGIN, distribution="a-dist")
    fakes.add("shapes", plugin_source(name="disk"), distribution="z-dist")
    with pytest.warns(PluginWarning):
        registry = _load(fakes, strict=False)
    assert registry.names("domains") == ["disk"]


def test_broken_plugin_is_listed_in_failures(fakes: FakePlugins) -> None:
    fakes.add("broken", BROKEN_PLUGIN, distribution="broken-dist")
    with pytest.warns(PluginWarning):
        registry = _load(fakes, strict=False)
    assert registry.failures == (
        PluginFailure("broken", "broken-dist", "RuntimeError: the plugin's import blew up"),
    )


def test_strict_turns_a_broken_import_into_an_error(fakes: FakePlugins) -> None:
    fakes.add("broken", BROKEN_PLUGIN, distribution="broken-dist")
    with pytest.raises(PluginError, match=r"'broken' \(distribution 'broken-dist'\).*blew up"):
        _load(fakes, strict=True)


def test_strict_from_environment(fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(PluginError, match=f"Strict mode is on because {STRICT_ENV}=1 is set"):
        _load(fakes)


def test_strict_argument_says_the_caller_asked_for_it(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    monkeypatch.setenv(STRICT_ENV, "0")
    caller = r"the caller asked for it \(deepinn plugins --strict"
    with pytest.raises(PluginError, match=caller) as info:
        _load(fakes, strict=True)
    assert STRICT_ENV not in str(info.value)


def test_strict_environment_off_only_warns(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    monkeypatch.setenv(STRICT_ENV, "0")
    with pytest.warns(PluginWarning):
        _load(fakes)


def test_strict_argument_overrides_environment(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.warns(PluginWarning):
        _load(fakes, strict=False)


# -- disabling ---------------------------------------------------------------------------------


def test_disabled_entry_point_is_not_imported(fakes: FakePlugins) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    registry = _load(fakes, strict=True, disabled=["broken"])
    assert registry.failures == ()


def test_disabled_distribution_is_skipped(fakes: FakePlugins) -> None:
    fakes.add("shapes", plugin_source(name="disk"), distribution="shapes-dist")
    assert _load(fakes, strict=True, disabled=["shapes-dist"]).names("domains") == []


def test_disabled_from_environment(fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    monkeypatch.setenv(DISABLE_ENV, "broken")
    registry = load_registry(entry_points=fakes.entry_points(), builtins=False, strict=True)
    assert registry.failures == ()


def test_disabled_environment_is_comma_separated(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    fakes.add("shapes", plugin_source(name="disk"))
    monkeypatch.setenv(DISABLE_ENV, "other, broken,shapes")
    registry = load_registry(entry_points=fakes.entry_points(), builtins=False, strict=True)
    assert registry.names("domains") == []


def test_disabling_one_plugin_keeps_the_rest(fakes: FakePlugins) -> None:
    fakes.add("broken", BROKEN_PLUGIN)
    fakes.add("shapes", plugin_source(name="disk"))
    assert _load(fakes, strict=True, disabled=["broken"]).names("domains") == ["disk"]


# -- duplicates --------------------------------------------------------------------------------


def test_duplicate_name_names_both_providers_and_distributions(fakes: FakePlugins) -> None:
    fakes.add("first", plugin_source(name="disk"), distribution="a-dist")
    fakes.add("second", plugin_source(name="disk"), distribution="b-dist")
    registry = _load(fakes, strict=True)  # loading works: only choosing the bare name fails
    with pytest.raises(
        DuplicateNameError,
        match=r"domain 'disk': 'first' \(distribution 'a-dist'\) and 'second' "
        r"\(distribution 'b-dist'\).*domain=first:disk or domain=second:disk",
    ):
        registry.domains.get("disk")


def test_a_qualified_name_always_selects_one_provider(fakes: FakePlugins) -> None:
    fakes.add("first", plugin_source(name="disk"), distribution="a-dist")
    fakes.add("second", plugin_source(name="disk"), distribution="b-dist")
    registry = _load(fakes, strict=True)
    assert registry.domains.get("second:disk").distribution == "b-dist"
    assert registry.domains.build("first:disk", {"radius": 2.0}).radius == 2.0
    with pytest.raises(UnknownNameError, match="'first:disk', 'second:disk'"):
        registry.domains.get("third:disk")


def test_a_plugin_may_take_a_builtin_name_and_both_stay_usable_qualified(
    fakes: FakePlugins,
) -> None:
    fakes.add("spaces2", plugin_source(hook="deepinn_spaces", name="r2"), distribution="x-dist")
    registry = _load(fakes, strict=True, builtins=True)  # loading works, even strictly
    assert registry.spaces.get("spaces2:r2").distribution == "x-dist"
    assert registry.spaces.get("deepinn:r2").provider == "deepinn.spaces._plugin"
    assert registry.spaces.get("deepinn.spaces._plugin:r2").distribution == "deepinn"
    with pytest.raises(
        DuplicateNameError,
        match=r"space 'r2': 'deepinn.spaces._plugin' \(distribution 'deepinn'\) and 'spaces2' "
        r"\(distribution 'x-dist'\).*deepinn:r2 or spaces2:r2\), or disable the other plugin "
        r"\(DEEPINN_DISABLE_PLUGINS=spaces2\)",
    ):
        registry.spaces.get("r2")  # never a silent override: the bare name names both


def test_two_third_party_plugins_may_share_a_name_that_no_builtin_has(
    fakes: FakePlugins,
) -> None:
    fakes.add("first", plugin_source(name="disk"), distribution="a-dist")
    fakes.add("second", plugin_source(name="disk"), distribution="b-dist")
    registry = _load(fakes, strict=True, builtins=True)
    assert [r.provider for r in registry.domains.registrations() if r.name == "disk"] == [
        "first",
        "second",
    ]


def test_same_name_in_two_kinds_is_allowed(fakes: FakePlugins) -> None:
    fakes.add("shapes", plugin_source(hook="deepinn_domains", name="thing"))
    fakes.add("nets", plugin_source(hook="deepinn_networks", name="thing"))
    registry = _load(fakes, strict=True)
    assert ("domains", "thing") in registry and ("networks", "thing") in registry


# -- invalid plugins ---------------------------------------------------------------------------


def test_misspelt_hook_only_warns_naming_plugin_hook_nearest_and_how_to_disable(
    fakes: FakePlugins,
) -> None:
    fakes.add("typo", TYPO_PLUGIN, distribution="typo-dist")
    with pytest.warns(
        PluginWarning,
        match=r"'typo' \(distribution 'typo-dist'\).*'deepinn_domain' is marked @hookimpl but "
        rf"is no deepinn hook; did you mean 'deepinn_domains'\?.*{DISABLE_ENV}=typo",
    ):
        _load(fakes, strict=False)


def test_misspelt_hook_does_not_stop_the_others(fakes: FakePlugins) -> None:
    fakes.add("a_typo", TYPO_PLUGIN, distribution="a-dist")
    fakes.add("shapes", plugin_source(name="disk"), distribution="z-dist")
    with pytest.warns(PluginWarning):
        registry = _load(fakes, strict=False, builtins=True)
    assert "disk" in registry.names("domains") and "circle" in registry.names("domains")
    assert [f.plugin for f in registry.failures] == ["a_typo"]


def test_misspelt_hook_is_an_error_in_strict_mode(fakes: FakePlugins) -> None:
    fakes.add("typo", TYPO_PLUGIN)
    hooks = "The hooks are: deepinn_spaces, deepinn_domains"
    with pytest.raises(PluginError, match=rf"'typo'.*{hooks}"):
        _load(fakes, strict=True)


NOT_A_REGISTRATION = """
from deepinn.plugins import hookimpl


@hookimpl
def deepinn_domains():
    return [("disk", object)]
"""


def test_hook_returning_non_registration_warns(fakes: FakePlugins) -> None:
    fakes.add("odd", NOT_A_REGISTRATION, distribution="odd-dist")
    with pytest.warns(
        PluginWarning,
        match=r"'odd' \(distribution 'odd-dist'\).*item 0 is a tuple, \('disk', <class "
        r"'object'>\) \(not a Registration\); return a list of Registration\(\.\.\.\)",
    ):
        _load(fakes, strict=False)


def test_hook_returning_non_registration_registers_nothing(fakes: FakePlugins) -> None:
    fakes.add("odd", NOT_A_REGISTRATION)
    with pytest.warns(PluginWarning):
        assert _load(fakes, strict=False).names("domains") == []


def test_hook_returning_non_registration_strict(fakes: FakePlugins) -> None:
    fakes.add("odd", NOT_A_REGISTRATION)
    with pytest.raises(PluginError, match=r"return a list of Registration\(\.\.\.\)"):
        _load(fakes, strict=True)


def test_hook_returning_one_registration_not_a_list(fakes: FakePlugins) -> None:
    source = plugin_source(name="disk").replace("return [Registration(", "return (Registration(")
    fakes.add("single", source.replace('radius")]', 'radius"))'))
    with pytest.raises(PluginError, match=r"returned one Registration \('disk'\), not a list"):
        _load(fakes, strict=True)


def test_hook_raising_is_reported(fakes: FakePlugins) -> None:
    fakes.add("raiser", plugin_source(name="disk").replace("return [", "1 / 0\n    return ["))
    with pytest.warns(PluginWarning, match="'raiser'.*ZeroDivisionError"):
        _load(fakes, strict=False)


def test_hook_returning_none_registers_nothing(fakes: FakePlugins) -> None:
    fakes.add("empty", plugin_source(name="disk").replace("return [", "return None and ["))
    assert _load(fakes, strict=True).names("domains") == []


# -- determinism -------------------------------------------------------------------------------


def test_loading_order_is_by_distribution_then_name(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.add("zeta", plugin_source(name="disk"), distribution="b-dist")
    fakes.add("alpha", plugin_source(name="ring"), distribution="b-dist")
    fakes.add("omega", plugin_source(name="cube"), distribution="a-dist")
    monkeypatch.setattr(
        metadata, "entry_points", lambda group: list(reversed(fakes.entry_points()))
    )
    pm = load_registry(strict=True, builtins=False, disabled=()).plugin_manager
    assert pm is not None
    impls = pm.hook.deepinn_domains.get_hookimpls()
    assert [impl.plugin_name for impl in impls] == ["omega", "alpha", "zeta"]


def test_duplicate_error_is_the_same_whatever_the_discovery_order(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.add("first", plugin_source(name="disk"), distribution="a-dist")
    fakes.add("second", plugin_source(name="disk"), distribution="b-dist")
    messages = []
    for order in (list, lambda eps: list(reversed(eps))):
        monkeypatch.setattr(
            metadata, "entry_points", lambda group, o=order: o(fakes.entry_points())
        )
        registry = load_registry(strict=True, builtins=False, disabled=())
        with pytest.raises(DuplicateNameError) as info:
            registry.domains.get("disk")
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# -- no import-time loading --------------------------------------------------------------------

SIDE_EFFECT_PLUGIN = """
import os
from pathlib import Path

Path(os.environ["FAKE_PLUGIN_MARKER"]).write_text("imported")

from deepinn.plugins import hookimpl


@hookimpl
def deepinn_domains():
    return []
"""

PROBE = textwrap.dedent(
    """
    import json
    import sys
    from importlib import metadata

    groups = []
    real = metadata.entry_points

    def spy(*args, **kwargs):
        groups.append(kwargs.get("group", args[0] if args else None))
        return real(*args, **kwargs)

    metadata.entry_points = spy
    import deepinn
    {after}
    print(json.dumps({{"groups": groups, "module_loaded": sys.argv[1] in sys.modules}}))
    """
)


def _probe(fakes: FakePlugins, module: str, after: str, tmp_path: Path) -> tuple[dict, Path]:
    marker = tmp_path / "imported.txt"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(fakes.root), str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]
    )
    env["FAKE_PLUGIN_MARKER"] = str(marker)
    env.pop(STRICT_ENV, None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(after=after), module],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), marker


@pytest.mark.slow
def test_import_deepinn_imports_no_plugin(fakes: FakePlugins, tmp_path: Path) -> None:
    module = fakes.add("sidefx", SIDE_EFFECT_PLUGIN)
    report, marker = _probe(fakes, module, "", tmp_path)
    assert (report["module_loaded"], marker.exists()) == (False, False)


@pytest.mark.slow
def test_import_deepinn_does_not_look_up_deepinn_entry_points(
    fakes: FakePlugins, tmp_path: Path
) -> None:
    module = fakes.add("sidefx", SIDE_EFFECT_PLUGIN)
    report, _ = _probe(fakes, module, "", tmp_path)
    assert [g for g in report["groups"] if g in (None, "deepinn")] == []


@pytest.mark.slow
def test_load_registry_does_import_the_plugin(fakes: FakePlugins, tmp_path: Path) -> None:
    """The control for the two tests above: the probe does see a loaded plugin."""
    module = fakes.add("sidefx", SIDE_EFFECT_PLUGIN)
    after = "deepinn.plugins.load_registry(builtins=False, disabled=())"
    report, marker = _probe(fakes, module, after, tmp_path)
    assert (report["module_loaded"], marker.exists(), "deepinn" in report["groups"]) == (
        True,
        True,
        True,
    )
