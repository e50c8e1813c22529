"""docs/reliability.md names the test that holds each guarantee: every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_guarantee_in_the_table_names_a_test() -> None:
    table = DOC.read_text().split("## Guarantees and their tests", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 40
    for row in rows[1:]:  # after the header
        assert re.search(r"`tests/\S+\.py::test_\w+`", row), f"no test named in: {row}"


def test_every_test_the_page_names_exists() -> None:
    text = DOC.read_text()
    named = re.findall(r"(tests/[\w/]+\.py)::(test_\w+)", text)
    assert named
    missing = [f"{path}::{name}" for path, name in named
               if not (ROOT / path).is_file() or name not in _tests_in(ROOT / path)]
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
    everywhere = set().union(*(_tests_in(path) for path in (ROOT / "tests").rglob("test_*.py")))
    bare = set(re.findall(r"`(test_\w+)`", text)) - {name for _, name in named}
    assert not bare - everywhere, f"docs/reliability.md names unknown tests: {bare - everywhere}"
