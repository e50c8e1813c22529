"""docs/plugins.md documents every hook with its signature and factory contract (as datasette)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from deepinn.plugins import DISABLE_ENV, KINDS, STRICT_ENV, Registration, _hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


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
