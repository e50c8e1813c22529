"""Asking a registry: unknown names, parameter validation, registration checks."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch
from omegaconf import OmegaConf

from deepinn import ConfigurationError, PluginError, UnknownNameError
from deepinn._errors import unknown_name_message
from deepinn.domains import Circle
from deepinn.plugins import Registration, Registry, hookimpl, load_registry
from deepinn.spaces import R2


@dataclass
class CircleParams:
    radius: float = 1.0
    center: list[float] = field(default_factory=lambda: [0.0, 0.0])


@dataclass
class NamedParams:
    name: str = "inlet"


def _circle(params: CircleParams, **context: object) -> Circle:
    circle = Circle(R2("x"), params.center, params.radius)
    circle.context = context  # type: ignore[attr-defined]
    return circle


class _Shapes:
    @hookimpl
    def deepinn_domains(self) -> list[Registration]:
        return [
            Registration("circle", _circle, CircleParams, "A circle"),
            Registration("circle_sector", _circle, CircleParams, "A sector"),
        ]


@pytest.fixture
def shapes() -> Registry:
    return load_registry(plugins=[_Shapes()], builtins=False, entry_points=(), strict=True)


# -- unknown names -----------------------------------------------------------------------------


def test_unknown_name_lists_registered_names(shapes: Registry) -> None:
    with pytest.raises(UnknownNameError, match=r"Registered domains: circle, circle_sector\."):
        shapes.get("domains", "circel")


def test_unknown_name_suggests_the_nearest(shapes: Registry) -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'circle'\?"):
        shapes.get("domains", "circel")


def test_unknown_name_names_the_value(shapes: Registry) -> None:
    with pytest.raises(UnknownNameError, match=r"^Unknown domain 'circel'"):
        shapes.build("domains", "circel")


def test_unknown_name_is_a_key_error_and_a_plugin_error(shapes: Registry) -> None:
    with pytest.raises(KeyError) as info:
        shapes.get("domains", "nothing_like_it")
    assert isinstance(info.value, PluginError)


def test_unknown_name_with_nothing_registered() -> None:
    empty = Registry({})
    with pytest.raises(UnknownNameError, match="Registered samplers: \\(none\\)"):
        empty.get("samplers", "sobol")


def test_unknown_kind_lists_the_kinds(shapes: Registry) -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown kind 'domian'\. Valid kinds: .*domains"):
        shapes.names("domian")


def test_a_kind_is_found_by_plural_singular_or_config_group(shapes: Registry) -> None:
    assert shapes.names("domain") == shapes.names("domains") == shapes.domains.names()
    assert shapes.kind("net") is shapes.networks


def test_unknown_kind_suggests_the_plural(shapes: Registry) -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'domains'\?"):
        shapes.get("domainss", "circle")


def test_unknown_name_message_uses_the_plural() -> None:
    message = unknown_name_message("space", "r4", ["r1", "r2"])
    assert message.startswith("Unknown space 'r4'. Registered spaces: r1, r2.")


def test_unknown_name_message_takes_an_irregular_plural() -> None:
    message = unknown_name_message("physics", "x", ["heat"], plural="physics")
    assert "Registered physics: heat." in message


# -- lookups -----------------------------------------------------------------------------------


def test_names_are_sorted(shapes: Registry) -> None:
    assert shapes.names("domains") == ["circle", "circle_sector"]


def test_contains_by_kind_and_name(shapes: Registry) -> None:
    assert (("domains", "circle") in shapes, ("samplers", "circle") in shapes) == (True, False)


def test_build_passes_context_to_the_factory(shapes: Registry) -> None:
    circle = shapes.build("domains", "circle", None, space="x")
    assert circle.context == {"space": "x"}


def test_typed_accessor_builds_without_a_kind_string(shapes: Registry) -> None:
    assert shapes.domains.build("circle", {"radius": 2.0}).radius == 2.0


def test_factory_returning_the_wrong_type_is_refused_naming_the_plugin() -> None:
    class _Bad:
        @hookimpl
        def deepinn_domains(self) -> list[Registration]:
            return [Registration("nothing", lambda params: None, CircleParams, "Returns None")]

    registry = load_registry(plugins=[_Bad()], builtins=False, entry_points=(), strict=True)
    with pytest.raises(PluginError, match=r"domain 'nothing'.*_Bad.*returned None.*AbstractDomain"):
        registry.domains.build("nothing")


# -- parameters --------------------------------------------------------------------------------


def test_params_default(shapes: Registry) -> None:
    assert shapes.params("domains", "circle") == CircleParams()


def test_params_from_mapping(shapes: Registry) -> None:
    assert shapes.params("domains", "circle", {"radius": 2}).radius == 2.0


def test_params_from_dictconfig(shapes: Registry) -> None:
    params = shapes.params("domains", "circle", OmegaConf.create({"center": [1, 2]}))
    assert params.center == [1.0, 2.0]


def test_params_schema_instance_passes_through(shapes: Registry) -> None:
    params = CircleParams(radius=3.0)
    assert shapes.params("domains", "circle", params) is params


def test_params_drop_the_hydra_option_name(shapes: Registry) -> None:
    assert shapes.params("domains", "circle", {"name": "circle"}) == CircleParams()


def test_a_schema_field_called_name_is_refused_at_registration() -> None:
    with pytest.raises(PluginError, match=r"NamedParams has a field called 'name'.*rename"):
        Registration("named", _circle, NamedParams, "Has a field called name")


def test_params_unknown_key_names_the_key(shapes: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"domain 'circle'.*radiu.*radius"):
        shapes.params("domains", "circle", {"radiu": 2.0})


def test_params_wrong_type_names_the_key_and_value(shapes: Registry) -> None:
    with pytest.raises(ConfigurationError, match=r"radius.*'big'"):
        shapes.params("domains", "circle", {"radius": "big"})


def test_params_not_a_mapping(shapes: Registry) -> None:
    with pytest.raises(ConfigurationError, match="must be a mapping or a CircleParams; got 3"):
        shapes.params("domains", "circle", 3)


# -- registrations -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "has space", "dash-ed", "dot.ted"])
def test_registration_rejects_a_name_hydra_cannot_use(name: str) -> None:
    with pytest.raises(PluginError, match="letters, digits and underscores"):
        Registration(name, _circle, CircleParams, "bad")


def test_registration_needs_a_dataclass_schema() -> None:
    with pytest.raises(PluginError, match="must be a dataclass type"):
        Registration("circle", _circle, dict, "bad")


def test_registration_needs_a_callable_factory() -> None:
    with pytest.raises(PluginError, match="is not callable"):
        Registration("circle", "not callable", CircleParams, "bad")  # type: ignore[arg-type]


def test_a_failing_built_in_plugin_raises_even_when_not_strict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types

    from deepinn.plugins import _discovery

    broken = types.ModuleType("deepinn_fake_broken_builtin")

    @hookimpl
    def deepinn_domains() -> list[Registration]:
        raise RuntimeError("boom")

    broken.deepinn_domains = deepinn_domains  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, broken.__name__, broken)
    monkeypatch.setattr(_discovery, "BUILTIN_PLUGINS", (broken.__name__,))
    with pytest.raises(RuntimeError, match="boom"):
        load_registry(strict=False, entry_points=())


def test_optional_context_reaches_only_factories_that_accept_it() -> None:
    seen: dict[str, object] = {}

    def takes(
        params: CircleParams, in_dim: int, out_dim: int, bounds: object, coordinates: tuple
    ) -> torch.nn.Module:
        seen["coordinates"] = coordinates
        return torch.nn.Linear(in_dim, out_dim)

    def ignores(params: CircleParams, in_dim: int, out_dim: int, bounds: object) -> torch.nn.Module:
        return torch.nn.Linear(in_dim, out_dim)

    class _Nets:
        @hookimpl
        def deepinn_networks(self) -> list[Registration]:
            return [
                Registration("takes", takes, CircleParams, "t"),
                Registration("ignores", ignores, CircleParams, "i"),
            ]

    registry = load_registry(plugins=[_Nets()], builtins=False, entry_points=(), strict=True)
    for name in ("takes", "ignores"):
        registry.networks.build(
            name, None, in_dim=2, out_dim=1, bounds=None, coordinates=("x", "t")
        )
    assert seen == {"coordinates": ("x", "t")}
