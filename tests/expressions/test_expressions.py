"""The expression language: numerics against analytic values, derivative hints, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from deepinn import ConfigurationError, ShapeError
from deepinn.expressions import (
    OPERATORS,
    Expression,
    OperatorCall,
    OperatorScope,
    compile_function,
    compile_residual,
    parse,
)
from deepinn.operators import Field
from deepinn.spaces import R1

TOL: dict[str, Any] = {"atol": 1e-12, "rtol": 1e-12}
KEY = "problem.constraints.pde.residual"
XY = ("x", "y")


def _points(n: int = 7, d: int = 2, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return 0.1 + 0.8 * torch.rand(n, d, generator=generator, dtype=dtype)


def _function(text: str, **kwargs: object) -> Expression:
    return compile_function(text, key=KEY, coordinates=XY, **kwargs)  # type: ignore[arg-type]


class SinExp(torch.nn.Module):
    """u = sin(x) exp(2y), v = x y^2 on (x, y)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x, y = z[:, 0:1], z[:, 1:2]
        return torch.cat([torch.sin(x) * torch.exp(2 * y), x * y**2], dim=1)


class Decay(torch.nn.Module):
    """u = exp(-t) sin(x) on (t, x): solves u_t = u_xx."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.exp(-z[:, 0:1]) * torch.sin(z[:, 1:2])


def _field() -> tuple[Field, torch.Tensor, torch.Tensor]:
    z = _points()
    return Field(SinExp(), z, R1("x") * R1("y"), ("u", "v")), z[:, 0:1], z[:, 1:2]


def _residual(text: str, **kwargs: object) -> Expression:
    return compile_residual(text, key=KEY, coordinates=XY, outputs=("u", "v"), **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ functions


def test_arithmetic_on_points() -> None:
    z = _points()
    x, y = z[:, 0:1], z[:, 1:2]
    result = _function("2*x + y**2 - x/y + -x + +y - 1.5e-1")(z)
    torch.testing.assert_close(result, 2 * x + y**2 - x / y - x + y - 0.15, **TOL)


def test_power_is_right_associative_and_binds_tighter_than_unary_minus() -> None:
    z = _points()
    x = z[:, 0:1]
    torch.testing.assert_close(_function("-x**2")(z), -(x**2), **TOL)
    torch.testing.assert_close(_function("2**3**2 + 0*x")(z), torch.full_like(x, 512.0), **TOL)


UNARY: list[tuple[str, Callable[[float], float]]] = [
    ("sin", math.sin),
    ("cos", math.cos),
    ("tan", math.tan),
    ("exp", math.exp),
    ("log", math.log),
    ("sqrt", math.sqrt),
    ("abs", abs),
    ("tanh", math.tanh),
    ("sinh", math.sinh),
    ("cosh", math.cosh),
    ("arcsin", math.asin),
    ("asin", math.asin),
    ("arccos", math.acos),
    ("arctan", math.atan),
    ("atan", math.atan),
    ("log10", math.log10),
    ("log2", math.log2),
    ("log1p", math.log1p),
    ("expm1", math.expm1),
    ("erf", math.erf),
    ("sign", lambda a: math.copysign(1.0, a)),
    ("floor", math.floor),
]


@pytest.mark.parametrize(("name", "reference"), UNARY, ids=[name for name, _ in UNARY])
def test_unary_function_matches_math(name: str, reference: Callable[[float], float]) -> None:
    z = _points()
    result = _function(f"{name}(x - 0.5*y)")(z)
    expected = [[float(reference(a - 0.5 * b))] for a, b in z.tolist()]
    torch.testing.assert_close(result, torch.tensor(expected, dtype=torch.float64), **TOL)


def test_two_argument_functions() -> None:
    z = _points()
    x, y = z[:, 0:1], z[:, 1:2]
    torch.testing.assert_close(_function("atan2(y, x)")(z), torch.atan2(y, x), **TOL)
    torch.testing.assert_close(_function("minimum(x, y)")(z), torch.minimum(x, y), **TOL)
    torch.testing.assert_close(_function("maximum(x, 0.5)")(z), x.clamp(min=0.5), **TOL)
    torch.testing.assert_close(_function("clip(x, 0.3, 0.6)")(z), x.clamp(0.3, 0.6), **TOL)
    torch.testing.assert_close(_function("heaviside(x - y)")(z), (x > y).double(), **TOL)


def test_heaviside_value_at_zero() -> None:
    z = torch.tensor([[0.0, 1.0], [-1.0, 1.0], [2.0, 1.0]], dtype=torch.float64)
    result = _function("heaviside(x) + heaviside(x, 0.25)")(z)
    torch.testing.assert_close(result, torch.tensor([[0.75], [0.0], [2.0]], dtype=torch.float64))


def test_where_and_comparisons() -> None:
    z = _points()
    x, y = z[:, 0:1], z[:, 1:2]
    result = _function("where(x < y, x, -y)")(z)
    torch.testing.assert_close(result, torch.where(x < y, x, -y), **TOL)
    chained = _function("where(0.3 <= x < 0.6, 1, 0)")(z)
    torch.testing.assert_close(chained, ((x >= 0.3) & (x < 0.6)).double(), **TOL)


def test_comparisons_as_indicators_and_logic() -> None:
    z = _points()
    x, y = z[:, 0:1], z[:, 1:2]
    result = _function("(x > 0.5) * 0.1 + (x > 0.3 and y < 0.5) + (not x != x)")(z)
    expected = (x > 0.5).double() * 0.1 + ((x > 0.3) & (y < 0.5)).double() + 1.0
    torch.testing.assert_close(result, expected, **TOL)
    assert result.dtype == torch.float64


def test_constants_pi_and_e() -> None:
    z = _points()
    x = z[:, 0:1]
    result = _function("sin(pi*x) + e")(z)
    torch.testing.assert_close(result, torch.sin(math.pi * x) + math.e, **TOL)


def test_constant_expression_broadcasts_in_points_dtype() -> None:
    expression = _function("2*pi**2")
    assert expression.is_constant
    for dtype in (torch.float32, torch.float64):
        result = expression(_points(5, dtype=dtype))
        assert result.shape == (5, 1) and result.dtype == dtype
        torch.testing.assert_close(result, torch.full((5, 1), 2 * math.pi**2, dtype=dtype))


def test_float32_points_stay_float32() -> None:
    result = _function("sin(x) * 0.1 + (x > y)")(_points(dtype=torch.float32))
    assert result.dtype == torch.float32


def test_points_object_is_accepted() -> None:
    from deepinn.spaces import Points

    z = _points()
    result = _function("x*y")(Points(z, R1("x") * R1("y")))
    torch.testing.assert_close(result, z[:, 0:1] * z[:, 1:2], **TOL)


def test_numeric_parameters_are_folded() -> None:
    expression = _function("k * 2 + 1", parameters={"k": 3})
    assert expression.is_constant
    torch.testing.assert_close(expression(_points(3)), torch.full((3, 1), 7.0, dtype=torch.float64))


def test_learnable_parameter_receives_gradient() -> None:
    k = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
    z = _points()
    x = z[:, 0:1]
    result = _function("k**2 * x + k", parameters={"k": k})(z)
    torch.testing.assert_close(result, 0.25 * x + 0.5, **TOL)
    result.sum().backward()
    assert k.grad is not None
    torch.testing.assert_close(k.grad, (2 * 0.5 * x + 1).sum(), **TOL)


def test_parameter_alone_broadcasts_and_keeps_gradient() -> None:
    k = torch.nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    result = _function("k", parameters={"k": k})(_points(4))
    assert result.shape == (4, 1)
    result.sum().backward()
    torch.testing.assert_close(k.grad, torch.tensor([4.0], dtype=torch.float64))


def test_points_with_wrong_columns_are_refused() -> None:
    with pytest.raises(ShapeError, match=r"one column per coordinate \['x', 'y'\]"):
        _function("x")(_points(3, d=3))


# ---------------------------------------------------------------------------- residuals


def test_values_and_derivatives_on_a_field() -> None:
    field, x, y = _field()
    u = torch.sin(x) * torch.exp(2 * y)
    cases = {
        "u": u,
        "v": x * y**2,
        "laplacian(u)": 3 * u,
        "laplacian(u, x)": -u,
        "grad(u, x)": torch.cos(x) * torch.exp(2 * y),
        "grad(u, y)": 2 * u,
        "partial(u, y, y)": 4 * u,
        "partial(u, x, y)": 2 * torch.cos(x) * torch.exp(2 * y),
        "partial(u, x, x, y)": -2 * u,
        "u_xx": -u,
        "u_y": 2 * u,
        "u_xy": 2 * torch.cos(x) * torch.exp(2 * y),
        "div(u, v)": torch.cos(x) * torch.exp(2 * y) + 2 * x * y,
        "div(v, u, x, y)": y**2 + 2 * u,
        "-laplacian(u) + 3*u + x*y": x * y,
    }
    for text, expected in cases.items():
        torch.testing.assert_close(_residual(text)(field), expected, **TOL, msg=text)


def test_poisson_residual_vanishes_on_its_solution() -> None:
    class Solution(torch.nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.sin(math.pi * z[:, 0:1]) * torch.sin(math.pi * z[:, 1:2])

    field = Field(Solution(), _points(), R1("x") * R1("y"))
    text = "-laplacian(u) - 2*pi**2*sin(pi*x)*sin(pi*y)"
    residual = compile_residual(text, key=KEY, coordinates=XY, outputs=["u"])(field)
    torch.testing.assert_close(residual, torch.zeros(7, 1, dtype=torch.float64), atol=1e-12, rtol=0)


def test_heat_residual_with_time_and_a_learnable_coefficient() -> None:
    k = torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
    field = Field(Decay(), _points(), R1("t") * R1("x"))
    for text in ("u_t - k*u_xx", "partial(u, t) - k*laplacian(u)"):
        expression = compile_residual(
            text, key=KEY, coordinates=("t", "x"), outputs=["u"], parameters={"k": k}
        )
        residual = expression(field)
        torch.testing.assert_close(residual, torch.zeros(7, 1, dtype=torch.float64), **TOL)
    residual.pow(2).sum().backward()
    assert k.grad is not None


def test_burgers_residual() -> None:
    field = Field(Decay(), _points(), R1("t") * R1("x"))
    t, x = field.x[:, 0:1].detach(), field.x[:, 1:2].detach()
    u = torch.exp(-t) * torch.sin(x)
    expression = compile_residual(
        "u_t + u*u_x - nu*u_xx",
        key=KEY,
        coordinates=("t", "x"),
        outputs=["u"],
        parameters={"nu": 0.01},
    )
    expected = -u + u * torch.exp(-t) * torch.cos(x) + 0.01 * u
    torch.testing.assert_close(expression(field), expected, **TOL)


def test_residual_on_a_row_view_of_the_field() -> None:
    field, x, y = _field()
    result = _residual("u_xx + x")(field.rows(slice(2, 5)))
    expected = -torch.sin(x) * torch.exp(2 * y) + x
    torch.testing.assert_close(result, expected[2:5], **TOL)


def test_residual_needs_a_field() -> None:
    with pytest.raises(ConfigurationError, match=f"{KEY}.*must be evaluated on a Field"):
        _residual("u_xx")(_points())


def test_field_with_other_coordinates_is_refused() -> None:
    field = Field(Decay(), _points(), R1("t") * R1("x"))
    with pytest.raises(ConfigurationError, match=r"coordinates \['x', 'y'\].*\['t', 'x'\]"):
        _residual("u")(field)


def test_parse_is_compile_residual_with_optional_outputs() -> None:
    z = _points()
    torch.testing.assert_close(parse("x*y", key=KEY, coordinates=XY)(z), z[:, :1] * z[:, 1:])


# -------------------------------------------------------------------- derivative hints

HINTS = [
    ("u + x", 0, None, False),
    ("u_x + grad(u, y)", 1, None, False),
    ("-laplacian(u) - x", 2, ("x", "y"), True),
    ("laplacian(u, x)", 2, ("x",), True),
    ("laplacian(u) + laplacian(v) + u_x", 2, ("x", "y"), True),
    ("u_xx + u_yy", 2, ("x", "y"), False),
    ("laplacian(u) + u_xx", 2, ("x", "y"), False),
    ("laplacian(u) + u_xy", 2, ("x", "y"), False),
    ("laplacian(u, x) + laplacian(v)", 2, ("x", "y"), False),
    ("partial(u, x, y)", 2, None, False),
    ("partial(u, x, x, x)", 3, None, False),
    ("laplacian(u) + partial(u, x, x, y)", 3, ("x", "y"), False),
    ("div(u, v)", 1, None, False),
]


@pytest.mark.parametrize(("text", "order", "second", "laplacian_only"), HINTS)
def test_derivative_hints(
    text: str, order: int, second: tuple[str, ...] | None, laplacian_only: bool
) -> None:
    expression = _residual(text)
    assert expression.order == order
    assert expression.second_order == second
    assert expression.laplacian_only is laplacian_only


def test_derivative_set_of_heat() -> None:
    expression = compile_residual(
        "u_t - k*u_xx", key=KEY, coordinates=("t", "x"), outputs=["u"], parameters={"k": 1.0}
    )
    assert expression.derivatives == {("u", ("t",)), ("u", ("x", "x"))}
    assert expression.names == {"u", "k"}
    assert expression.second_order == ("x",)


def test_laplacian_leaves_time_out() -> None:
    expression = compile_residual(
        "u_t - laplacian(u)", key=KEY, coordinates=("t", "x", "y"), outputs=["u"]
    )
    assert expression.derivatives == {("u", ("t",)), ("u", ("x", "x")), ("u", ("y", "y"))}
    assert expression.second_order == ("x", "y") and expression.laplacian_only


def test_mixed_partials_are_one_derivative() -> None:
    assert _residual("u_xy - partial(u, y, x)").derivatives == {("u", ("x", "y"))}


def test_declared_name_wins_over_a_short_form() -> None:
    expression = _residual("u_x", parameters={"u_x": 2.0})
    assert expression.is_constant and expression.derivatives == frozenset()


# -------------------------------------------------------------------- custom operators


def test_an_operator_mapping_extends_the_language() -> None:
    def advect(names: tuple[str, ...], scope: OperatorScope) -> OperatorCall:
        out = scope.output(names[0], "advect")
        return OperatorCall(
            frozenset({scope.key(out, ("x",)), scope.key(out, ("y",))}),
            lambda field: field.partial(out, "x") + field.partial(out, "y"),
        )

    field, x, y = _field()
    operators = {**OPERATORS, "advect": advect}
    expression = _residual("advect(u)", operators=operators)
    assert expression.derivatives == {("u", ("x",)), ("u", ("y",))}
    expected = torch.cos(x) * torch.exp(2 * y) + 2 * torch.sin(x) * torch.exp(2 * y)
    torch.testing.assert_close(expression(field), expected, **TOL)


def test_only_the_given_operators_exist() -> None:
    operators = {"laplacian": OPERATORS["laplacian"]}
    with pytest.raises(ConfigurationError, match="Unknown function 'grad'"):
        _residual("grad(u, x)", operators=operators)


# ------------------------------------------------------------------------------- errors


def test_syntax_error_names_key_and_column() -> None:
    with pytest.raises(
        ConfigurationError, match=rf"{KEY}: Syntax error.*column 8\)\n    sin\(x \+\)"
    ):
        _function("sin(x +)")


def test_unknown_name_suggests_nearest() -> None:
    with pytest.raises(
        ConfigurationError, match=rf"{KEY}: Unknown name 'nuu'.*Did you mean 'nu'\?"
    ):
        _residual("u_y - nuu*u_xx", parameters={"nu": 0.1})


def test_unknown_function_suggests_nearest() -> None:
    with pytest.raises(ConfigurationError, match=r"Unknown function 'lapalcian'.*'laplacian'\?"):
        _residual("lapalcian(u)")
    with pytest.raises(ConfigurationError, match=r"Unknown function 'sinn'.*Did you mean 'sin'\?"):
        _function("sinn(x)")


def test_derivative_by_unknown_coordinate() -> None:
    with pytest.raises(ConfigurationError, match=r"Unknown coordinate 'z'.*coordinates: x, y"):
        _residual("partial(u, z)")


def test_derivative_of_unknown_output_suggests_nearest() -> None:
    with pytest.raises(ConfigurationError, match=r"Unknown output 'uu'.*Did you mean 'u'\?"):
        _residual("laplacian(uu)")


def test_short_form_of_unknown_coordinate_names_the_coordinates() -> None:
    with pytest.raises(ConfigurationError, match=r"'u_z' reads as a derivative of 'u', but 'z' is "
                       r"not made of the coordinates \['x', 'y'\]"):
        _residual("u_z")


def test_ambiguous_short_form() -> None:
    with pytest.raises(
        ConfigurationError, match=r"'u_xxx' can be read as partial\(u, x, x, x\) or"
    ):
        compile_residual("u_xxx", key=KEY, coordinates=("x", "xx"), outputs=["u"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sin(x, y)", r"sin\(\.\.\.\) got 2 argument\(s\); call it as sin\(a\)"),
        ("where(x, y)", r"call it as where\(condition, a, b\)"),
        ("grad(u)", r"grad\(\.\.\.\) got 1 argument\(s\); call it as grad\(u, x\)"),
        ("partial(u)", r"call it as partial\(u, x\)"),
        ("laplacian(u + v)", r"takes names of outputs and coordinates"),
        ("div(u)", r"pairs each output with a coordinate"),
    ],
)
def test_wrong_arguments(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"{KEY}: .*{message}"):
        _residual(text)


def test_derivative_order_is_limited() -> None:
    with pytest.raises(ConfigurationError, match=r"order 5.*limit is 4"):
        _residual("u_xxxxx")


def test_refused_construct_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"Attribute access \(a\.b\) is not allowed"):
        _function("x.real")


def test_too_long() -> None:
    with pytest.raises(
        ConfigurationError, match=rf"{KEY}: .*2001 characters long; the limit is 2000"
    ):
        _function("x" + "+x" * 1000)


def test_too_deep() -> None:
    with pytest.raises(ConfigurationError, match="nests deeper than 100 levels"):
        _function("sin(" * 120 + "x" + ")" * 120)


def test_exponent_too_large() -> None:
    with pytest.raises(ConfigurationError, match=r"exponent 65 is too large.*at most 64"):
        _function("x**65")


def test_exponent_must_be_constant() -> None:
    with pytest.raises(ConfigurationError, match="exponent of \\*\\* must be a constant"):
        _function("x**y")


def test_non_finite_constant_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="evaluates to inf"):
        _function("x + 1/0")


def test_outputs_are_refused_in_a_function() -> None:
    with pytest.raises(ConfigurationError, match=r"'u' is a network output.*coordinates only"):
        _function("u + x", outputs=["u"])
    with pytest.raises(ConfigurationError, match=r"laplacian\(\.\.\.\) takes derivatives"):
        _function("laplacian(u)", outputs=["u"])
    with pytest.raises(ConfigurationError, match="'u_x' is a derivative of a network output"):
        _function("u_x", outputs=["u"])


def test_calling_a_variable_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="'x' is not a function"):
        _function("x(1)")


def test_function_without_call_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="'sin' is a function; call it"):
        _function("sin + x")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"k": "1"}, "Parameter 'k' = '1' is not a number"),
        ({"k": True}, "Parameter 'k' = True is not a number"),
        ({"k": float("nan")}, "not a finite number"),
        ({"k": torch.ones(3)}, r"shape \(3,\).*must be one floating-point number"),
        ({"sin": 1.0}, "'sin' is already a function name"),
        ({"x": 1.0}, "'x' is already a coordinate name"),
        ({"_k": 1.0}, "cannot be used in expressions"),
    ],
)
def test_bad_parameters(parameters: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _function("x", parameters=parameters)
