"""The house rules that a reader of the package can check: module and class sizes, no import
cycles between modules (the domain set operators excepted), the training layer never spelling
the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deepinn"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
# Set algebra: a domain builds unions and differences of itself, which build domains.
ALLOWED_CYCLE_MODULES = {"deepinn.domains._setops"}


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _top_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The deepinn modules ``name`` imports when it is imported: module-level statements only
    (not inside functions or ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if "TYPE_CHECKING" not in test:
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    if f"{base}.{alias.name}" in known:  # a submodule
                        found.add(f"{base}.{alias.name}")
                    elif base in known:  # a name the module defines or re-exports
                        found.add(base)

    visit(tree.body)
    found.discard(name)
    return found


def _cycles(package: Path = PACKAGE) -> list[list[str]]:
    modules = _modules(package)
    known = set(modules)
    graph = {name: _top_level_imports(name, path, known) for name, path in modules.items()}
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return components


def test_no_module_is_over_the_size_limit():
    over = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split them by job): {over}"


def test_no_class_is_over_the_size_limit():
    over = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    over[f"{path.relative_to(PACKAGE.parent)}:{node.name}"] = lines
    assert not over, f"classes over {MAX_CLASS_LINES} lines (give a concern its own class): {over}"


def test_the_cycle_check_finds_a_loop_through_a_package_and_ignores_deferred_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import A\n")
    (package / "a.py").write_text("from pkg.sub import B\nA = 1\n")
    (package / "sub" / "__init__.py").write_text("from pkg.sub.b import B\n")
    (package / "sub" / "b.py").write_text("import pkg.c\nB = 2\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n"
        "def f():\n    from pkg import a\nfrom pkg import a as _a\n"
    )
    assert _cycles(package) == [["pkg.a", "pkg.c", "pkg.sub", "pkg.sub.b"]]


def test_no_import_cycle_outside_the_domain_set_operators():
    cycles = [c for c in _cycles() if not set(c) & ALLOWED_CYCLE_MODULES]
    assert not cycles, f"modules that import each other (directly or around a loop): {cycles}"


@pytest.mark.parametrize("source", ["deepinn train", "in deepinn.fit"])
def test_layers_below_the_app_do_not_spell_a_callers_syntax(source):
    """Fixes are structured (``DeepinnError(fix=[Setting(...)])``) and rendered by the caller."""
    spelled = [
        str(path.relative_to(PACKAGE.parent))
        for sub in ("training", "problems", "constraints", "operators", "nn", "samplers", "runs")
        for path in (PACKAGE / sub).rglob("*.py")
        if any(
            source in ast.unparse(node)
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Raise)
        )
    ]
    assert not spelled, f"raise statements spelling {source!r}: {spelled}"
