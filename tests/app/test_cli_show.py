"""``deepinn show KIND NAME`` and ``deepinn plugins --params``: parameters with types and
defaults."""

from __future__ import annotations

import pytest

from deepinn.__main__ import main


def test_show_lists_parameters_with_types_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "domain", "circle"]) == 0
    out = capsys.readouterr().out
    assert "select with domain=circle" in out
    assert [line.split()[:3] for line in out.splitlines() if line.strip().startswith("radius")] == [
        ["radius", "float", "0.5"]
    ]


def test_show_accepts_the_config_group_name_of_a_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "net", "mlp"]) == 0
    assert "hidden" in capsys.readouterr().out


def test_show_unknown_name_suggests_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "domain", "circel"]) == 1
    err = capsys.readouterr().err
    assert "Did you mean 'circle'?" in err and len(err.strip().splitlines()) == 1


def test_plugins_params_follows_each_component_with_its_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plugins", "--kind", "samplers", "--params"]) == 0
    out = capsys.readouterr().out
    assert "sampler adaptive:" in out and "pool_factor" in out


def test_field_docs_come_from_metadata_or_the_attributes_section() -> None:
    from dataclasses import dataclass, field

    from deepinn.plugins import KIND_TABLE, Registration
    from deepinn.plugins._listing import format_params

    @dataclass
    class Params:
        """Parameters.

        Attributes:
            alpha: The first one,
                over two lines.
        """

        alpha: float = 1.0
        beta: int = field(default=2, metadata={"help": "the second one"})

    registration = Registration("thing", lambda params: None, Params, "a thing")
    text = format_params(registration, KIND_TABLE[1])
    assert "The first one, over two lines." in text and "the second one" in text
