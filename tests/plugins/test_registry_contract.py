"""A plugin is loaded all or nothing, its schemas are checked at registration, its factory's
bugs name it: what the outside audit of docs/plugins.md found, each as one behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from plugin_fakes import FakePlugins, fake_plugins, plugin_source

from deepinn import ConfigurationError, DeepinnError, PluginError
from deepinn.__main__ import main
from deepinn.plugins import (
    DISABLE_ENV,
    STRICT_ENV,
    PluginFactoryError,
    PluginWarning,
    Registration,
    Registry,
    _discovery,
    hookimpl,
    load_registry,
)


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlugins]:
    """Fake installed plugins for this test only."""
    yield from fake_plugins(tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def _no_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    monkeypatch.delenv(DISABLE_ENV, raising=False)


def _load(fakes: FakePlugins, **kwargs: object) -> Registry:
    kwargs.setdefault("builtins", False)
    kwargs.setdefault("disabled", ())
    return load_registry(entry_points=fakes.entry_points(), **kwargs)  # type: ignore[arg-type]


# -- schemas are checked when the registration is made -----------------------------------------

CUSTOM_FIELD_PLUGIN = """
from dataclasses import dataclass, field

from deepinn.domains import Circle
from deepinn.plugins import Registration, hookimpl
from deepinn.spaces import R2


class Custom:
    pass


@dataclass
class OddParams:
    thing: Custom = field(default_factory=Custom)


@hookimpl
def deepinn_domains():
    return [Registration("odd", lambda params: Circle(R2("x"), [0, 0], 1.0), OddParams, "odd")]
"""


class Custom:
    """A plain class: OmegaConf cannot type a field of it."""


@dataclass
class CustomFieldParams:
    thing: Custom = field(default_factory=Custom)


@dataclass
class NoDefaultParams:
    radius: float
    variable: str = "x"


def _factory(params: object) -> None:
    return None


def test_schema_field_omegaconf_cannot_type_is_refused_naming_it_and_the_fix() -> None:
    with pytest.raises(
        PluginError,
        match=r"Registration 'odd': schema CustomFieldParams field 'thing' cannot be a Hydra "
        r"structured config \(Unexpected type annotation: Custom\)\. Annotate it with a type",
    ):
        Registration("odd", _factory, CustomFieldParams, "odd")


def test_schema_field_without_a_default_is_refused_naming_it() -> None:
    with pytest.raises(
        PluginError,
        match=r"Registration 'ring': schema NoDefaultParams field\(s\) 'radius' have no default",
    ):
        Registration("ring", _factory, NoDefaultParams, "ring")


def test_schema_instance_says_pass_the_class() -> None:
    with pytest.raises(PluginError, match=r"pass the class CircleLike, not an instance"):
        Registration("x", _factory, CircleLike(), "x")  # type: ignore[arg-type]


@dataclass
class CircleLike:
    radius: float = 1.0


def test_plugin_with_an_untypeable_schema_warns_naming_plugin_name_and_field(
    fakes: FakePlugins,
) -> None:
    fakes.add("oddity", CUSTOM_FIELD_PLUGIN, distribution="odd-dist")
    with pytest.warns(
        PluginWarning, match=r"'oddity' \(distribution 'odd-dist'\).*'odd'.*field 'thing'"
    ):
        registry = _load(fakes, strict=False, builtins=True)
    assert "odd" not in registry.names("domains") and "circle" in registry.names("domains")


def test_plugin_with_an_untypeable_schema_is_an_error_in_strict_mode(fakes: FakePlugins) -> None:
    fakes.add("oddity", CUSTOM_FIELD_PLUGIN)
    with pytest.raises(PluginError, match=r"'oddity'.*field 'thing' cannot be a Hydra"):
        _load(fakes, strict=True)


def test_every_builtin_schema_passes_the_check() -> None:
    registry = load_registry(entry_points=(), strict=True)
    assert registry.failures == () and len(registry.registrations("problems")) > 5


# -- all or nothing, reported once with every problem ------------------------------------------

HALF_BROKEN_PLUGIN = plugin_source(name="half_disk") + """

@hookimpl
def deepinn_samplers():
    return {"name": Registration("grid2", Disk, DiskParams, "a dict, not a list")}


@hookimpl
def deepinn_operators():
    return ["just a string"]
"""


def test_a_failed_plugin_contributes_nothing(fakes: FakePlugins) -> None:
    fakes.add("half", HALF_BROKEN_PLUGIN)
    with pytest.warns(PluginWarning):
        registry = _load(fakes, strict=False)
    assert registry.names("domains") == [] and registry.names("samplers") == []


def test_a_failed_plugin_is_reported_once_with_every_problem(fakes: FakePlugins) -> None:
    fakes.add("half", HALF_BROKEN_PLUGIN, distribution="half-dist")
    with pytest.warns(PluginWarning) as caught:
        registry = _load(fakes, strict=False)
    assert len([w for w in caught if "'half'" in str(w.message)]) == 1
    (failure,) = registry.failures
    assert failure.error.startswith("2 problems: (1) deepinn_samplers returned a dict, ")
    assert "(2) deepinn_operators returned a list in which item 0 is a str, 'just a string'" in (
        failure.error
    )


def test_a_dict_return_is_reported_by_its_type_and_repr_not_its_first_key(
    fakes: FakePlugins,
) -> None:
    fakes.add("half", HALF_BROKEN_PLUGIN)
    with pytest.raises(
        PluginError,
        match=r"deepinn_samplers returned a dict, \{'name': Registration\(.*\}; return a list of "
        r"Registration\(\.\.\.\)",
    ):
        _load(fakes, strict=True)


def test_a_str_return_is_reported_whole_not_by_its_first_character(fakes: FakePlugins) -> None:
    source = plugin_source(name="disk").replace("return [Registration(", "return 'disk' or [(")
    fakes.add("stringy", source)
    with pytest.raises(PluginError, match=r"deepinn_domains returned a str, 'disk'; return a list"):
        _load(fakes, strict=True)


def test_one_name_twice_in_one_plugin_is_refused(fakes: FakePlugins) -> None:
    source = plugin_source(name="disk").replace("return [", "return 2 * [")
    fakes.add("twice", source)
    with pytest.raises(PluginError, match=r"'twice'.*registers the domain 'disk' more than once"):
        _load(fakes, strict=True)


# -- a factory's bug names the plugin ------------------------------------------------------------

@dataclass
class _Params:
    size: float = 1.0


def _buggy(params: _Params) -> object:
    return undefined_name  # type: ignore[name-defined]  # noqa: F821


def _picky(params: _Params) -> object:
    raise TypeError("takes no 'space'")


def _refusing(params: _Params) -> object:
    raise ConfigurationError("size must be < 1")


class _Factories:
    @hookimpl
    def deepinn_domains(self) -> list[Registration]:
        return [
            Registration("buggy", _buggy, _Params, "raises NameError"),
            Registration("picky", _picky, _Params, "raises TypeError"),
            Registration("refusing", _refusing, _Params, "raises ConfigurationError"),
        ]


@pytest.fixture
def factories() -> Registry:
    return load_registry(plugins=[_Factories()], builtins=False, entry_points=(), strict=True)


def test_factory_bug_is_a_deepinn_error_naming_plugin_kind_name_and_exception(
    factories: Registry,
) -> None:
    with pytest.raises(
        PluginFactoryError,
        match=r"factory of domain 'buggy' \(plugin '_Factories-0', distribution '\(registered "
        r"in code\)'\) raised NameError: name 'undefined_name' is not defined.*The fix is in "
        rf"that plugin.*{DISABLE_ENV}=_Factories-0",
    ) as info:
        factories.domains.build("buggy")
    assert isinstance(info.value, DeepinnError) and isinstance(info.value.__cause__, NameError)


def test_factory_type_error_stays_a_type_error(factories: Registry) -> None:
    with pytest.raises(TypeError, match=r"domain 'picky'.*raised TypeError: takes no 'space'"):
        factories.domains.build("picky")


def test_factory_deepinn_error_passes_through_unchanged(factories: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"^size must be < 1$"):
        factories.domains.build("refusing")


# -- strict mode says what turned it on --------------------------------------------------------

BROKEN_PLUGIN = 'raise ImportError("needs the frobnicate package")\n'


def test_cli_strict_flag_failure_names_the_flag_not_the_environment(
    fakes: FakePlugins, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_discovery, "BUILTIN_PLUGINS", ("deepinn.spaces._plugin",))
    monkeypatch.setattr(metadata, "entry_points", lambda group: fakes.entry_points())
    fakes.add("frob", BROKEN_PLUGIN)
    assert main(["plugins", "--strict"]) == 1
    err = capsys.readouterr().err
    assert "Strict mode is on because the caller asked for it (deepinn plugins --strict" in err
    assert STRICT_ENV not in err
