"""Text to a checked Python AST: size limits, allowed characters and a whitelist of node types.

Nothing here evaluates anything: ``ast.parse(text, mode="eval")`` only builds a tree, and every
node of it is checked against :data:`ALLOWED_NODES` before the compiler sees it.
"""

from __future__ import annotations

import ast

from deepinn.expressions._source import Source

__all__ = ["MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "MAX_NODES", "parse_tree"]

MAX_LENGTH = 2000
"""The longest expression text, in characters."""

MAX_NODES = 1000
"""The most syntax-tree nodes (operators and names included) in one expression."""

MAX_DEPTH = 100
"""The deepest nesting of the syntax tree (``1+1+...+1`` nests one level per ``+``)."""

MAX_EXPONENT = 64
"""The largest ``|p|`` of a power ``a ** p``; ``p`` must be a constant."""

_ALLOWED_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-*/()<>=!,\t\n\r "
)

ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.BoolOp,
    ast.Call,
    ast.Name,
    ast.Constant,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Eq,
    ast.NotEq,
)
"""Every node type an expression may contain; anything else is refused."""

_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[i])",
    ast.Lambda: "lambda",
    ast.IfExp: "a conditional expression (a if c else b); use where(c, a, b)",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*a)",
    ast.JoinedStr: "an f-string",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
    ast.Mod: "the operator %",
    ast.FloorDiv: "the operator //",
    ast.MatMult: "the operator @",
    ast.BitAnd: "the operator &; use 'and'",
    ast.BitOr: "the operator |; use 'or'",
    ast.BitXor: "the operator ^; use ** for powers",
    ast.LShift: "the operator <<",
    ast.RShift: "the operator >>",
    ast.Invert: "the operator ~; use 'not'",
    ast.Is: "'is'; use ==",
    ast.IsNot: "'is not'; use !=",
    ast.In: "'in'",
    ast.NotIn: "'not in'",
}

_GRAMMAR_HINT = (
    "An expression uses numbers, names, + - * / **, comparisons, 'and'/'or'/'not' and "
    "function calls such as sin(x) or laplacian(u)."
)


def parse_tree(source: Source) -> ast.expr:
    """Parse and check an expression's text; return the body of its ``ast.Expression``.

    Raises:
        ConfigurationError: Not a string, too long, a character outside the language, a syntax
            error, a refused construct, or a tree too large or too deep.
    """
    text = source.text  # already stripped of surrounding whitespace by the caller
    if not isinstance(text, str):
        raise source.error(
            f"An expression must be a string; got {type(text).__name__} {text!r}. "
            "Quote it in YAML, e.g. '2*x + 1'."
        )
    if len(text) > MAX_LENGTH:
        raise source.error(
            f"The expression is {len(text)} characters long; the limit is {MAX_LENGTH}. "
            "Split it into smaller parts or simplify it."
        )
    if not text.strip():
        raise source.error("The expression is empty; write a formula such as 'sin(pi*x)'.")
    for position, char in enumerate(text):
        if char not in _ALLOWED_CHARACTERS:
            raise source.error(
                f"Character {char!r} is not allowed in an expression; use ASCII letters, "
                "digits, _ . + - * / ( ) < > = ! , and spaces.",
                column=position if char.isprintable() else None,
            )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        column: int | None = None
        if exc.lineno == 1 and exc.offset is not None and "\n" not in text:
            column = exc.offset - 1 if 0 < exc.offset <= len(text) else len(text)
        raise source.error(f"Syntax error: {exc.msg}. {_GRAMMAR_HINT}", column=column) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise source.error(
            f"The expression cannot be parsed ({type(exc).__name__}); it is too deeply nested "
            "or malformed. Simplify it."
        ) from None
    _check(tree, source)
    return tree.body


def _check(tree: ast.AST, source: Source) -> None:
    """Walk the tree iteratively: limits on size and depth, and the node whitelist."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise source.error(
                f"The expression has more than {MAX_NODES} syntax nodes; simplify it."
            )
        if depth > MAX_DEPTH:
            raise source.error(
                f"The expression nests deeper than {MAX_DEPTH} levels; simplify it.", node
            )
        _check_node(node, source)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node: ast.AST, source: Source) -> None:
    if not isinstance(node, ALLOWED_NODES):
        what = _REFUSED.get(type(node), f"the construct {type(node).__name__}")
        raise source.error(f"{what[0].upper()}{what[1:]} is not allowed in an expression.", node)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else repr(value)
            raise source.error(
                f"Only real numbers are allowed as constants; got {kind}. "
                "Use numbers like 2, 0.5 or 1e-3.",
                node,
            )
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise source.error(
                "Only a function named directly can be called, e.g. sin(x).", node.func
            )
        if node.keywords:
            raise source.error(
                f"Keyword arguments are not allowed; call {node.func.id}(...) with positional "
                "arguments only.",
                node.keywords[0].value,
            )
