"""``format_registry``: the text ``deepinn plugins`` prints, from a hand-built registry."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from deepinn import UnknownNameError
from deepinn.plugins import KINDS, PluginFailure, Registration, Registry, format_registry


@dataclass
class _Params:
    size: float = 1.0


def _registration(name: str, provider: str, distribution: str, summary: str) -> Registration:
    registration = Registration(name, _Params, _Params, summary)
    return dataclasses.replace(registration, provider=provider, distribution=distribution)


@pytest.fixture
def registry() -> Registry:
    return Registry(
        {
            "domains": {
                "mesh": _registration("mesh", "mesh", "deepinn-mesh", "A closed triangle mesh"),
                "circle": _registration("circle", "deepinn.domains._plugin", "deepinn", "A disk"),
            }
        },
        failures=[PluginFailure("broken", "broken-dist", "ImportError: no module named x")],
    )


def test_rows_are_sorted_and_aligned(registry: Registry) -> None:
    text = format_registry(registry, ["domains"])
    assert text.splitlines()[:4] == [
        "domains (2):",
        "  NAME    PROVIDER                 DISTRIBUTION  SUMMARY",
        "  circle  deepinn.domains._plugin  deepinn       A disk",
        "  mesh    mesh                     deepinn-mesh  A closed triangle mesh",
    ]


def test_every_kind_by_default(registry: Registry) -> None:
    headers = [line for line in format_registry(registry).splitlines() if line.endswith(":")]
    assert [h.split(" ")[0] for h in headers[: len(KINDS)]] == list(KINDS)


def test_empty_kind_says_so(registry: Registry) -> None:
    assert format_registry(registry, ["samplers"]).startswith(
        "samplers (0):\n  (none registered)\n"
    )


def test_failures_follow_with_the_reason(registry: Registry) -> None:
    assert format_registry(registry, ["samplers"]).endswith(
        "plugins that failed to load (1):\n"
        "  broken (distribution broken-dist): ImportError: no module named x\n"
    )


def test_no_failure_section_without_failures() -> None:
    assert "failed" not in format_registry(Registry({}))


def test_kinds_keep_the_order_asked(registry: Registry) -> None:
    text = format_registry(registry, ["samplers", "domains"])
    assert text.index("samplers (0)") < text.index("domains (2)")


def test_unknown_kind_raises(registry: Registry) -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'domains'"):
        format_registry(registry, ["domian"])


def test_missing_provider_shows_a_question_mark() -> None:
    registry = Registry({"spaces": {"r1": Registration("r1", _Params, _Params, "R^1")}})
    assert "  r1    ?         ?             R^1" in format_registry(registry, ["spaces"])
