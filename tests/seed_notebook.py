"""Extract and run the code of the seed notebook (kept as tests/data) with ``import deepinn as dp``.

The notebook dump has lost its indentation and mixes code, printed output and prose. A line is
code when it compiles (joined with its continuation lines) and does not start like printed
output; blocks after ``class``/``def`` lines are re-indented. Only the import lines change.
"""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path
from typing import Any

SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "000_418a196333118ea8.txt"
"""The seed as the project's shared folder holds it, where that folder is beside the checkout."""
SPEC = Path(__file__).resolve().parent / "data" / "seed_notebook.txt"
"""The copy kept with the tests, so that the seed runs on any checkout (CI's included)."""

OUTPUT_PREFIXES = (
    "tensor(",
    "(tensor(",
    "torch.Size(",
    "[",
    "<matplotlib",
    "x: ",
    "y: ",
    "X:",
    "y:",
)
IMPORT_REPLACEMENTS = {"import DeepINN as dp": "import deepinn as dp"}
DROPPED = ("import sys", "sys.path.append(")


def _compiles(source: str) -> bool:
    for wrapped in (source, "def _wrapper():\n    " + source):
        try:
            compile(wrapped, "<seed>", "exec")
        except SyntaxError:
            continue
        return True
    return False


def _balanced(text: str) -> bool:
    return sum(text.count(c) for c in "([{") == sum(text.count(c) for c in ")]}")


def extract_code(path: Path = SPEC) -> str:
    """The notebook's code, re-indented, with the import lines changed to deepinn."""
    lines = path.read_text().splitlines()
    code: list[str] = []
    depth = 0  # current indentation level
    class_depth: int | None = None
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not line or line.startswith(OUTPUT_PREFIXES):
            # Skip printed output, including its continuation lines.
            while line and not _balanced(line) and index < len(lines):
                line += lines[index].strip()
                index += 1
            continue
        if line.startswith("Gradient (dy/dx):"):
            while not _balanced(line) and index < len(lines):
                line += lines[index].strip()
                index += 1
            continue
        while not _balanced(line) and index < len(lines):  # a statement spread over lines
            line += " " + lines[index].strip()
            index += 1
        line = IMPORT_REPLACEMENTS.get(line, line)
        if line.startswith(DROPPED):
            continue
        if line.startswith("#"):
            code.append("    " * depth + line)
            continue
        if line.startswith("def ") and class_depth is not None and depth > class_depth + 1:
            depth = class_depth + 1
        candidate = line[:-1] + ": pass" if line.endswith(":") else line
        if not _compiles(candidate):
            continue  # prose
        code.append("    " * depth + line)
        if line.startswith("class ") and line.endswith(":"):
            class_depth = depth
            depth += 1
        elif line.endswith(":"):
            depth += 1
        elif line.startswith("return "):
            following = lines[index].strip() if index < len(lines) else ""
            if class_depth is not None and following.startswith("def "):
                depth = class_depth + 1
            else:
                depth, class_depth = 0, None
    return "\n".join(code) + "\n"


def run_notebook(code: str) -> tuple[list[tuple[str, Any]], dict[str, Any], str]:
    """Run the code statement by statement as a notebook would.

    Returns the value of every bare expression (with its source), the namespace and stdout.
    """
    namespace: dict[str, Any] = {"__name__": "seed_notebook"}
    displayed: list[tuple[str, Any]] = []
    stdout = io.StringIO()
    tree = ast.parse(code)
    with contextlib.redirect_stdout(stdout):
        for statement in tree.body:
            source = ast.get_source_segment(code, statement) or ""
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), "<seed>", "eval"), namespace)
                displayed.append((source, value))
            else:
                exec(compile(ast.Module([statement], []), "<seed>", "exec"), namespace)
    return displayed, namespace, stdout.getvalue()
