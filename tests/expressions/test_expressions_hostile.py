"""Hostile expressions: each is refused quickly with a ConfigurationError, never run as Python."""

from __future__ import annotations

import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepinn import ConfigurationError
from deepinn.expressions import compile_function, compile_residual
from deepinn.operators import Field
from deepinn.spaces import R1

KEY = "problem.constraints.wall.value"
LIMIT_S = 1.0

HOSTILE = [
    "__import__('os')",
    "__import__('os').system('echo hacked')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "u.grad",
    "(lambda: 1)()",
    "[x for x in ()]",
    "{x for x in ()}",
    "(x for x in ())",
    "open('f')",
    "eval('1')",
    "exec('import os')",
    "exec",
    "compile('1', 'f', 'eval')",
    "getattr(x, 'y')",
    "globals()",
    "locals()",
    "vars()",
    "__builtins__",
    "breakpoint()",
    "input()",
    "9**9**9**9",
    "10**1000",
    "2**10**10",
    "1_000_000**1_000_000",
    "1e308*1e308",
    "1e999",
    "9" * 400,
    "'a'*10**9",
    "'a'",
    "b'a'",
    "x[0]",
    "x[0:1]",
    "{}",
    "[]",
    "()",
    "(x, y)",
    "{'a': 1}",
    "f'{x}'",
    "(x:=1)",
    "x if x else x",
    "sin(x, key=1)",
    "sin(**x)",
    "sin(*x)",
    "*x",
    "x @ x",
    "x % 2",
    "x // 2",
    "x ^ 2",
    "~x",
    "x | y",
    "x << 1",
    "x is x",
    "x in x",
    "1j",
    "True",
    "None",
    "...",
    "await x",
    "yield x",
    "sin(x)(y)",
    "x.real",
    "import os",
    "x = 1",
    "x; y",
    "del x",
    "# comment",
    "((((" * 250 + "x" + "))))" * 250,
    "(" * 999 + "x" + ")" * 999,
    "-" * 1999 + "x",
    "not " * 499 + "x",
    "sin(" * 400 + "x" + ")" * 400,
    "x" + "+x" * 999,
    "x" * 5000,
    "x" + " " * 100_000,
    "ｓｉｎ(x)",
    "sin\u200b(x)",
    "х",  # Cyrillic
    "x\x00",
    "\x00",
    "x\x1b[2J",
    "\ufeffx",
    "x\\\n+1",
    "",
    "   ",
    "u_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "partial(u" + ", x" * 500 + ")",
    "laplacian(u" + ", x" * 100 + ")",
    "(-8)**(1/3)",
    "0**-1",
    "1/0",
    "exp(1000)",
    "x**64**2",
    "x**(10**2)",
    "x**y",
    "x**u",
]


def _refused(text: str) -> ConfigurationError:
    start = time.perf_counter()
    with pytest.raises(ConfigurationError) as info:
        compile_residual(text, key=KEY, coordinates=("x", "y"), outputs=("u",))
    elapsed = time.perf_counter() - start
    assert elapsed < LIMIT_S, f"{text[:40]!r} took {elapsed:.2f} s to refuse"
    return info.value


def test_the_list_is_long() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t[:30]) for t in HOSTILE])
def test_hostile_expression_is_refused(text: str) -> None:
    error = _refused(text)
    assert str(error).startswith(f"{KEY}: ")


def test_nothing_is_evaluated_as_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import ast
    import builtins

    original_compile = builtins.compile
    calls: list[str] = []

    def forbidden(*args: object, **kwargs: object) -> None:
        calls.append("eval/exec")
        raise AssertionError("eval and exec must never be called")

    def ast_only(
        source: object, filename: object, mode: str, flags: int = 0, *rest: object, **kw: object
    ) -> object:
        if not flags & ast.PyCF_ONLY_AST:  # ast.parse builds a tree with compile; no code
            calls.append("compile")
            raise AssertionError("compile to code must never be called")
        return original_compile(source, filename, mode, flags, *rest, **kw)  # type: ignore[call-overload]

    with monkeypatch.context() as patched:
        patched.setattr(builtins, "eval", forbidden)
        patched.setattr(builtins, "exec", forbidden)
        patched.setattr(builtins, "compile", ast_only)
        with pytest.raises(ConfigurationError):
            compile_residual("__import__('os')", key=KEY, coordinates=("x",), outputs=("u",))
        expression = compile_residual("u_xx + sin(x)", key=KEY, coordinates=("x",), outputs=("u",))
    points = torch.ones(3, 1, dtype=torch.float64)
    torch.testing.assert_close(
        expression(Field(lambda z: z**2, points, R1("x"))), 2 + torch.sin(points)
    )
    assert calls == []


def test_non_string_is_refused() -> None:
    for value in (None, 1.5, ["x"], b"x"):
        with pytest.raises(ConfigurationError, match=f"{KEY}: An expression must be a string"):
            compile_function(value, key=KEY, coordinates=("x",))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- fuzzing

_TOKENS = [
    "x",
    "y",
    "u",
    "v",
    "t",
    "k",
    "pi",
    "e",
    "0",
    "1",
    "2.5",
    "1e-3",
    "64",
    "65",
    "1e308",
    "+",
    "-",
    "*",
    "/",
    "**",
    "(",
    ")",
    ",",
    "<",
    "<=",
    ">",
    "==",
    "!=",
    " and ",
    " or ",
    " not ",
    "sin(",
    "exp(",
    "log(",
    "sqrt(",
    "where(",
    "atan2(",
    "heaviside(",
    "minimum(",
    "laplacian(",
    "grad(",
    "partial(",
    "div(",
    "u_x",
    "u_xx",
    "u_xy",
    "u_t",
    "u_q",
    "sinn(",
    ".",
    "[",
    "]",
    "_",
    "__",
    "lambda",
    ":",
    "=",
    "'",
    '"',
    "{",
    "}",
    " if ",
    " else ",
    "@",
    "%",
    "~",
    "^",
    "\\",
    "\n",
    "\t",
    "#",
    ";",
]

_SPACE = R1("x") * R1("y")


class _Smooth(torch.nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x, y = z[:, 0:1], z[:, 1:2]
        return torch.cat([torch.sin(x) * torch.exp(y), x * y], dim=1)


def _try(text: str) -> None:
    """Parse (and, when it parses, evaluate); only ConfigurationError may come out, fast."""
    start = time.perf_counter()
    try:
        expression = compile_residual(
            text, key=KEY, coordinates=("x", "y"), outputs=("u", "v"), parameters={"k": 0.5}
        )
    except ConfigurationError:
        pass
    else:
        points = torch.rand(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        result = expression(Field(_Smooth(), points, _SPACE, ("u", "v")))
        assert result.shape == (4, 1) and result.dtype == torch.float64
    assert time.perf_counter() - start < LIMIT_S, f"{text[:60]!r} took too long"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_parses_or_is_refused(text: str) -> None:
    _try(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=40))
def test_token_soup_parses_or_is_refused(tokens: list[str]) -> None:
    _try("".join(tokens))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="xyu_()+-*/.0123456789e ,<>=!", min_size=1, max_size=2500))
def test_random_text_of_the_allowed_alphabet_parses_or_is_refused(text: str) -> None:
    _try(text)
