"""docs/plugins.md documents every hook with its signature and factory contract (as datasette)."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deepinn.plugins import (
    DISABLE_ENV,
    KINDS,
    STRICT_ENV,
    Registration,
    _hookspecs,
    format_registry,
    load_registry,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _hookspecs_in_module() -> dict[str, Callable[..., object]]:
    marker = f"{_hookspecs.PROJECT_NAME}_spec"
    return {
        name: function
        for name, function in inspect.getmembers(_hookspecs, inspect.isfunction)
        if hasattr(function, marker)
    }


HOOKSPECS = _hookspecs_in_module()


def _signature(function: Callable[..., object]) -> str:
    parameters = ", ".join(inspect.signature(function).parameters)
    return f"{function.__name__}({parameters}) -> {function.__annotations__['return']}"


def _flat(text: str) -> str:
    """Whitespace collapsed and reST double backticks made Markdown single ones."""
    return " ".join(text.replace("``", "`").split())


@pytest.fixture(scope="module")
def docs() -> str:
    return DOCS.read_text()


def test_there_is_one_hook_per_kind() -> None:
    assert sorted(HOOKSPECS) == sorted(f"deepinn_{kind}" for kind in KINDS)


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_hook_is_documented_with_its_signature(docs: str, name: str) -> None:
    signature = _signature(HOOKSPECS[name])
    assert signature.endswith("-> list[Registration]")
    assert f"### `{signature}`" in docs


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_hook_summary_is_documented(docs: str, name: str) -> None:
    summary = inspect.getdoc(HOOKSPECS[name]).split("\n\n")[0]
    assert _flat(summary) in _flat(docs)


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_hook_factory_contract_is_documented(docs: str, name: str) -> None:
    contract = _flat(inspect.getdoc(HOOKSPECS[name]).split("\n\n", 1)[1])
    assert contract in _flat(docs)


def test_no_documented_hook_is_missing_from_the_hookspecs(docs: str) -> None:
    documented = set(re.findall(r"`(deepinn_\w+)\(", docs))
    assert documented - set(HOOKSPECS) == set()


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Registration)])
def test_registration_field_is_documented(docs: str, field: str) -> None:
    assert f"| `{field}` |" in docs


@pytest.mark.parametrize(
    "text",
    [
        "[project.entry-points.deepinn]",
        'myplugin = "mypkg.plugin"',
        "deepinn.plugins.hookimpl",
        STRICT_ENV,
        DISABLE_ENV,
        "deepinn train domain=<name> domain.<field>=",
        "sample_uniform(0)",
        "configure_weights",
        "deepinn>=2.0",
        "provider:name",
        "PluginWarning",
        "DuplicateNameError",
        "UnknownNameError",
        "deepinn plugins",
    ],
)
def test_guide_covers(docs: str, text: str) -> None:
    assert text in docs


# -- the five-minute example runs verbatim -------------------------------------------------------


def _section(docs: str, title: str) -> str:
    start = docs.index(f"## {title}\n")
    end = docs.find("\n## ", start + 1)
    return docs[start : end if end != -1 else None]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


def _tomllib() -> object:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib


@pytest.fixture
def five_minutes(
    docs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, object]]:
    """The example package written from the docs into ``tmp_path`` and declared as pip would:
    its modules on ``sys.path`` and a ``*.dist-info`` made from the documented pyproject.toml
    (nothing is installed into the environment)."""
    section = _section(docs, "A plugin in five minutes")
    plugin_source, usage = _blocks(section, "python")
    (toml_source,) = _blocks(section, "toml")
    pyproject = _tomllib().loads(toml_source)  # type: ignore[attr-defined]
    project = pyproject["project"]
    package = tmp_path / project["name"]
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(plugin_source)
    info = tmp_path / f"{project['name']}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    declared = project["entry-points"]["deepinn"]
    (info / "entry_points.txt").write_text(
        "[deepinn]\n" + "".join(f"{key} = {value}\n" for key, value in declared.items())
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(STRICT_ENV, raising=False)
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    yield {"pyproject": pyproject, "usage": usage, "section": section}
    for module in [m for m in sys.modules if m == project["name"] or m.startswith("mypkg.")]:
        sys.modules.pop(module)


def test_five_minute_pyproject_builds_a_versioned_package(five_minutes: dict) -> None:
    pyproject = five_minutes["pyproject"]
    assert pyproject["build-system"]["build-backend"] and pyproject["build-system"]["requires"]
    assert pyproject["project"]["version"]


def test_five_minute_dependency_follows_the_page_advice(docs: str, five_minutes: dict) -> None:
    (pin,) = five_minutes["pyproject"]["project"]["dependencies"]
    assert f'dependencies = ["{pin}"]' in _section(docs, "Depending on deepinn")


def test_five_minute_python_snippet_runs_verbatim(five_minutes: dict) -> None:
    namespace: dict[str, object] = {}
    exec(compile(str(five_minutes["usage"]), "docs/plugins.md", "exec"), namespace)
    assert namespace["ring"].volume == pytest.approx(math.pi * (1.0 - 0.25**2))  # type: ignore[attr-defined]


def test_five_minute_component_is_listed_as_documented(five_minutes: dict) -> None:
    (console,) = _blocks(str(five_minutes["section"]), "console")
    row = next(line for line in console.splitlines() if "myplugin" in line)
    listing = format_registry(load_registry(strict=True), ["domains"])
    assert " ".join(row.split()) in [" ".join(line.split()) for line in listing.splitlines()]


def test_testing_section_tests_pass_against_the_five_minute_plugin(
    docs: str, five_minutes: dict
) -> None:
    (source,) = _blocks(_section(docs, "Testing a plugin"), "python")
    namespace: dict[str, object] = {}
    exec(compile(source, "docs/plugins.md", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        test(load_registry(strict=True))  # type: ignore[operator]


# -- the constraint context table is what problem=custom passes --------------------------------


def _documented_context(docs: str) -> set[str]:
    table = docs.split("**The context a constraint factory receives.**", 1)[1].split("\n\n")[1]
    rows = [line.split("|")[1] for line in table.splitlines()[2:]]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row)}


@dataclasses.dataclass
class _RecorderParams:
    weight: float = 1.0


def test_custom_problem_passes_only_documented_context(docs: str) -> None:
    from deepinn import ConfigurationError
    from deepinn.plugins import hookimpl

    seen: dict[str, object] = {}

    def record(params: _RecorderParams, **context: object) -> object:
        seen.update(context)
        raise ConfigurationError("recorded")

    class _Recorder:
        @hookimpl
        def deepinn_constraints(self) -> list[Registration]:
            return [Registration("recorder", record, _RecorderParams, "records its context")]

    registry = load_registry(plugins=[_Recorder()], entry_points=(), strict=True)
    spec = {"kind": "recorder", "at": "boundary", "outputs": ["u"], "value": "0",
            "residual": "u", "params": {"extra": 1}}
    with pytest.raises(ConfigurationError, match="recorded"):
        registry.problems.build(
            "custom",
            {"coordinates": ["x", "y"], "constraints": {"edge": spec}},
            domain=registry.domains.build("circle"),
            make_sampler=lambda domain, n: registry.samplers.build(
                "random", None, domain=domain, n_points=n, seed=0
            ),
            registry=registry,
        )
    assert {"name", "space", "sampler", "outputs", "value", "residual", "extra"} == set(seen)
    assert set(seen) - {"extra"} <= _documented_context(docs)
